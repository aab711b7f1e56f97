//! R5, operators: shop-floor seats, refused inputs.

use super::*;

#[tokio::test]
async fn adding_an_operator_from_a_body_that_is_not_a_json_object_is_a_400_and_takes_no_seat() {
    let app = plant(2, 1).await;
    let before = state_of(&app, "plant").await;
    let valid = json!({"id": "op-1", "number": 1, "name": "Olga"});
    assert_body_is_checked(&app, "POST", "/v1/tenants/plant/operators", &valid).await;
    assert_eq!(state_of(&app, "plant").await, before);
    assert_status(
        &app.post("/v1/tenants/plant/operators", valid).await,
        StatusCode::CREATED,
    );
}

#[tokio::test]
async fn an_operator_field_of_the_wrong_json_type_is_a_400_naming_it_and_takes_no_seat() {
    let app = plant(2, 1).await;
    let before = state_of(&app, "plant").await;
    for (field, value) in [
        ("number", json!(-1)),
        ("number", json!(1.5)),
        ("number", json!([1])),
        ("id", json!(1)),
        ("name", json!(7)),
        ("by", json!(3)),
    ] {
        let mut body = json!({"id": "op-1", "number": 1, "name": "Olga"});
        body[field] = value;
        assert_field_error(
            &app.post("/v1/tenants/plant/operators", body).await,
            StatusCode::BAD_REQUEST,
            field,
        );
    }
    assert_eq!(state_of(&app, "plant").await, before);
}

#[tokio::test]
async fn an_operator_with_a_blank_number_id_name_or_by_is_a_422_naming_the_field_and_takes_no_seat() {
    let app = plant(2, 1).await;
    let before = state_of(&app, "plant").await;
    for (field, value) in [
        ("number", json!("")),
        ("number", json!("   ")),
        ("number", json!("1".repeat(33))),
        ("id", json!("op 1")),
        ("name", json!("")),
        ("by", json!("")),
    ] {
        let mut body = json!({"id": "op-1", "number": 1, "name": "Olga"});
        body[field] = value;
        assert_field_error(
            &app.post("/v1/tenants/plant/operators", body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
        );
    }
    assert_eq!(state_of(&app, "plant").await, before);
}

#[tokio::test]
async fn adding_an_operator_when_seats_are_full_is_refused_and_writes_nothing() {
    let app = plant(1, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    let before = state_of(&app, "plant").await;
    assert_eq!(
        before["seats"]["shop_floor"],
        json!({"total": 1, "used": 1, "free": 0})
    );
    for body in [
        json!({"id": "op-2", "number": 2, "name": "Two"}),
        json!({"id": "op-2", "number": 2, "name": "Two", "by": "plant-admin"}),
    ] {
        let got = app.post("/v1/tenants/plant/operators", body).await;
        let e = assert_refused(&got, "seats_exhausted", "operators.seats_exhausted");
        assert_eq!(
            e["message"]["en"],
            "You are currently using all available licenses for Operators. Please contact support for more information."
        );
        assert_eq!(
            e["message"]["fr"],
            "Vous utilisez actuellement toutes les licences disponibles pour Opérateurs. Veuillez contacter l'assistance pour plus d'informations."
        );
    }
    let after = state_of(&app, "plant").await;
    assert_eq!(after, before);
    assert_eq!(after["operators"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_operator_number_already_used_in_the_tenant_is_a_409_however_it_is_written() {
    let app = plant(5, 1).await;
    app.provisioned("mill", 5, 1).await;
    add_operator(&app, "plant", "op-7", 7).await;
    let before = state_of(&app, "plant").await;
    for number in [json!(7), json!("7"), json!(" 7 ")] {
        let got = app
            .post(
                "/v1/tenants/plant/operators",
                json!({"id": "op-x", "number": number, "name": "X"}),
            )
            .await;
        let e = assert_error(&got, StatusCode::CONFLICT, "duplicate");
        assert_eq!(e["field"], "number");
    }
    assert_eq!(state_of(&app, "plant").await, before);
    // The number is per tenant: another tenant may use it.
    add_operator(&app, "mill", "mill-7", 7).await;
}

#[tokio::test]
async fn an_operator_id_already_used_in_any_tenant_is_a_409_and_the_first_operator_is_untouched() {
    let app = plant(5, 1).await;
    app.provisioned("mill", 5, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    let (plant_before, mill_before) = (state_of(&app, "plant").await, state_of(&app, "mill").await);
    for tenant in ["plant", "mill"] {
        let got = app
            .post(
                &format!("/v1/tenants/{tenant}/operators"),
                json!({"id": "op-1", "number": 99, "name": "Dup"}),
            )
            .await;
        let e = assert_error(&got, StatusCode::CONFLICT, "duplicate");
        assert_eq!(e["field"], "id");
    }
    assert_eq!(state_of(&app, "plant").await, plant_before);
    assert_eq!(state_of(&app, "mill").await, mill_before);
}

#[tokio::test]
async fn adding_an_operator_on_behalf_of_someone_who_may_not_is_refused_and_takes_no_seat() {
    let app = plant(5, 3).await;
    app.provisioned("mill", 5, 1).await;
    add_user(&app, "plant", "ivy", "viewer").await;
    add_user(&app, "plant", "una", "admin").await;
    license(&app, "ivy").await;
    let before = state_of(&app, "plant").await;
    let body = |by: &str| json!({"id": "op-1", "number": 1, "name": "Olga", "by": by});
    // A viewer cannot edit workers; an admin of another tenant has no say here.
    assert_not_permitted(&app.post("/v1/tenants/plant/operators", body("ivy")).await);
    assert_not_permitted(&app.post("/v1/tenants/plant/operators", body("mill-admin")).await);
    // An admin without a user licence cannot use the management interface.
    assert_refused(
        &app.post("/v1/tenants/plant/operators", body("una")).await,
        "no_license",
        "management.unlicensed",
    );
    assert_not_found(
        &app.post("/v1/tenants/plant/operators", body("ghost")).await,
        "ghost",
    );
    assert_not_found(
        &app.post("/v1/tenants/ghost/operators", body("plant-admin")).await,
        "ghost",
    );
    assert_eq!(state_of(&app, "plant").await, before);
}

#[tokio::test]
async fn adding_an_operator_to_a_tenant_locked_for_late_payment_is_refused_and_takes_no_seat() {
    let app = plant(5, 1).await;
    let mut sub = subscription("user", 1);
    sub["payment_due_at"] = json!("2025-11-01T00:00:00Z");
    assert_status(
        &app.post("/v1/tenants/plant/subscriptions", sub).await,
        StatusCode::CREATED,
    );
    let before = state_of(&app, "plant").await;
    let got = app
        .post(
            "/v1/tenants/plant/operators",
            json!({"id": "op-1", "number": 1, "name": "Olga"}),
        )
        .await;
    assert_refused(&got, "no_license", "payment.locked");
    assert_eq!(state_of(&app, "plant").await, before);
}
