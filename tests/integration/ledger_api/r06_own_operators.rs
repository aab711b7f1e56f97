//! R6, a user's own operator.

use super::*;

#[tokio::test]
async fn creating_an_own_operator_from_a_body_that_is_not_a_json_object_is_a_400_and_creates_nothing() {
    let app = plant(1, 1).await;
    let before = state_of(&app, "plant").await;
    let path = "/v1/users/plant-admin/operator";
    let valid = json!({"id": "own", "number": 50});
    assert_body_is_checked(&app, "POST", path, &valid).await;
    for (field, value) in [("number", json!([50])), ("number", json!(-50)), ("id", json!(5))] {
        let mut body = valid.clone();
        body[field] = value;
        assert_field_error(&app.post(path, body).await, StatusCode::BAD_REQUEST, field);
    }
    // The name is the user's: it cannot be given.
    assert_field_error(
        &app.post(path, json!({"id": "own", "number": 50, "name": "Someone"}))
            .await,
        StatusCode::BAD_REQUEST,
        "name",
    );
    for (field, value) in [("number", json!("")), ("id", json!("o wn"))] {
        let mut body = valid.clone();
        body[field] = value;
        assert_field_error(
            &app.post(path, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
        );
    }
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(user(&app, "plant-admin").await["own_operator"], Value::Null);
    assert_status(&app.post(path, valid).await, StatusCode::CREATED);
}

#[tokio::test]
async fn a_second_own_operator_is_refused_by_policy_and_writes_nothing() {
    let app = plant(1, 1).await;
    add_own_operator(&app, "plant-admin", "own-1", 50).await;
    let before = state_of(&app, "plant").await;
    let got = app
        .post(
            "/v1/users/plant-admin/operator",
            json!({"id": "own-2", "number": 51}),
        )
        .await;
    let e = assert_refused(&got, "own_operator_exists", "own_operator.only_one");
    assert_eq!(e["message"]["en"], "You already have your own operator");
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(user(&app, "plant-admin").await["own_operator"], "own-1");
}

#[tokio::test]
async fn an_own_operator_with_a_taken_number_or_id_is_a_409_and_creates_nothing() {
    let app = plant(2, 2).await;
    app.provisioned("mill", 1, 1).await;
    add_operator(&app, "plant", "op-7", 7).await;
    add_operator(&app, "mill", "mill-op", 1).await;
    let before = state_of(&app, "plant").await;
    let path = "/v1/users/plant-admin/operator";
    let e = assert_error(
        &app.post(path, json!({"id": "own", "number": "7"})).await,
        StatusCode::CONFLICT,
        "duplicate",
    );
    assert_eq!(e["field"], "number");
    for id in ["op-7", "mill-op"] {
        let e = assert_error(
            &app.post(path, json!({"id": id, "number": 50})).await,
            StatusCode::CONFLICT,
            "duplicate",
        );
        assert_eq!(e["field"], "id");
    }
    assert_eq!(state_of(&app, "plant").await, before);
}

#[tokio::test]
async fn an_own_operator_for_an_unknown_unlicensed_or_inactive_user_is_refused_and_creates_nothing() {
    let app = plant(1, 3).await;
    add_user(&app, "plant", "ivy", "manager").await;
    add_user(&app, "plant", "max", "manager").await;
    license(&app, "max").await;
    let got = app
        .call("PATCH", "/v1/users/max", Some(json!({"active": false})))
        .await;
    assert_status(&got, StatusCode::OK);
    let before = state_of(&app, "plant").await;
    assert_not_found(
        &app.post("/v1/users/ghost/operator", json!({"id": "own", "number": 50}))
            .await,
        "ghost",
    );
    assert_refused(
        &app.post("/v1/users/ivy/operator", json!({"id": "own", "number": 50}))
            .await,
        "no_license",
        "management.unlicensed",
    );
    assert_refused(
        &app.post("/v1/users/max/operator", json!({"id": "own", "number": 50}))
            .await,
        "no_license",
        "management.inactive_user",
    );
    assert_eq!(state_of(&app, "plant").await, before);
}

#[tokio::test]
async fn linking_an_operator_with_a_bad_body_is_a_400_or_422_and_links_nothing() {
    let app = plant(2, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    let before = state_of(&app, "plant").await;
    let path = "/v1/users/plant-admin/operator";
    let valid = json!({"operator": "op-1"});
    assert_body_is_checked(&app, "PUT", path, &valid).await;
    assert_field_error(
        &app.call("PUT", path, Some(json!({"operator": 1}))).await,
        StatusCode::BAD_REQUEST,
        "operator",
    );
    assert_field_error(
        &app.call("PUT", path, Some(json!({"operator": ""}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "operator",
    );
    assert_eq!(state_of(&app, "plant").await, before);
    let (s, b) = app.call("PUT", path, Some(valid)).await;
    assert_eq!((s, b["kind"].clone()), (StatusCode::OK, json!("user")), "{b}");
}

#[tokio::test]
async fn linking_a_user_operator_is_refused_by_policy_and_it_stays_with_its_user() {
    let app = plant(1, 3).await;
    add_user(&app, "plant", "ivy", "manager").await;
    license(&app, "ivy").await;
    add_own_operator(&app, "plant-admin", "admin-op", 50).await;
    let before = state_of(&app, "plant").await;
    let got = app
        .call(
            "PUT",
            "/v1/users/ivy/operator",
            Some(json!({"operator": "admin-op"})),
        )
        .await;
    assert_refused(&got, "operator_bound_to_user", "own_operator.bound");
    assert_eq!(state_of(&app, "plant").await, before);
    let op = operator(&app, "plant", "admin-op").await;
    assert_eq!(
        (op["owner"].clone(), op["name"].clone()),
        (json!("plant-admin"), json!("Admin"))
    );
    assert_eq!(user(&app, "ivy").await["own_operator"], Value::Null);
}

#[tokio::test]
async fn linking_a_seat_operator_when_the_user_has_one_already_is_refused_and_the_seat_stays_taken() {
    let app = plant(2, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    add_own_operator(&app, "plant-admin", "own", 50).await;
    let before = state_of(&app, "plant").await;
    let got = app
        .call(
            "PUT",
            "/v1/users/plant-admin/operator",
            Some(json!({"operator": "op-1"})),
        )
        .await;
    assert_refused(&got, "own_operator_exists", "own_operator.only_one");
    let after = state_of(&app, "plant").await;
    assert_eq!(after, before);
    assert_eq!(after["seats"]["shop_floor"]["used"], 1);
    let op = operator(&app, "plant", "op-1").await;
    assert_eq!(
        (op["kind"].clone(), op["name"].clone()),
        (json!("seat"), json!("op-1 name"))
    );
}

#[tokio::test]
async fn linking_an_unknown_operator_or_one_of_another_tenant_links_nothing() {
    let app = plant(2, 1).await;
    app.provisioned("mill", 2, 1).await;
    add_operator(&app, "mill", "mill-op", 1).await;
    let (plant_before, mill_before) = (state_of(&app, "plant").await, state_of(&app, "mill").await);
    assert_not_found(
        &app.call(
            "PUT",
            "/v1/users/plant-admin/operator",
            Some(json!({"operator": "ghost"})),
        )
        .await,
        "ghost",
    );
    assert_not_found(
        &app.call(
            "PUT",
            "/v1/users/ghost/operator",
            Some(json!({"operator": "mill-op"})),
        )
        .await,
        "ghost",
    );
    assert_not_permitted(
        &app.call(
            "PUT",
            "/v1/users/plant-admin/operator",
            Some(json!({"operator": "mill-op"})),
        )
        .await,
    );
    assert_eq!(state_of(&app, "plant").await, plant_before);
    assert_eq!(state_of(&app, "mill").await, mill_before);
}
