//! Changing an operator: activation takes a seat.

use super::*;

#[tokio::test]
async fn changing_an_operator_with_a_body_that_is_not_a_json_object_is_a_400_and_changes_nothing() {
    let app = plant(2, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    let before = state_of(&app, "plant").await;
    let valid = json!({"active": false});
    assert_body_is_checked(&app, "PATCH", "/v1/operators/op-1", &valid).await;
    assert_field_error(
        &app.call("PATCH", "/v1/operators/op-1", Some(json!({"active": "no"})))
            .await,
        StatusCode::BAD_REQUEST,
        "active",
    );
    assert_field_error(
        &app.call(
            "PATCH",
            "/v1/operators/op-1",
            Some(json!({"active": false, "by": 1})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "by",
    );
    assert_field_error(
        &app.call("PATCH", "/v1/operators/op-1", Some(json!({"by": "plant-admin"})))
            .await,
        StatusCode::BAD_REQUEST,
        "active",
    );
    assert_field_error(
        &app.call(
            "PATCH",
            "/v1/operators/op-1",
            Some(json!({"active": false, "by": "a b"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "by",
    );
    assert_eq!(state_of(&app, "plant").await, before);
    let (s, b) = app.call("PATCH", "/v1/operators/op-1", Some(valid)).await;
    assert_eq!((s, b["active"].clone()), (StatusCode::OK, json!(false)), "{b}");
}

#[tokio::test]
async fn reactivating_an_operator_when_seats_are_full_is_refused_and_it_stays_inactive() {
    let app = plant(1, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    set_operator_active(&app, "op-1", false).await;
    add_operator(&app, "plant", "op-2", 2).await;
    let before = state_of(&app, "plant").await;
    for body in [
        json!({"active": true}),
        json!({"active": true, "by": "plant-admin"}),
    ] {
        let got = app.call("PATCH", "/v1/operators/op-1", Some(body)).await;
        assert_refused(&got, "seats_exhausted", "operators.seats_exhausted");
    }
    let after = state_of(&app, "plant").await;
    assert_eq!(after, before);
    assert_eq!(
        after["seats"]["shop_floor"],
        json!({"total": 1, "used": 1, "free": 0})
    );
    assert_eq!(operator(&app, "plant", "op-1").await["active"], false);
}

#[tokio::test]
async fn changing_an_unknown_operator_or_on_behalf_of_someone_who_may_not_changes_nothing() {
    let app = plant(2, 3).await;
    add_user(&app, "plant", "ivy", "viewer").await;
    license(&app, "ivy").await;
    add_operator(&app, "plant", "op-1", 1).await;
    let before = state_of(&app, "plant").await;
    assert_not_found(
        &app.call("PATCH", "/v1/operators/ghost", Some(json!({"active": false})))
            .await,
        "ghost",
    );
    assert_not_found(
        &app.call(
            "PATCH",
            "/v1/operators/op-1",
            Some(json!({"active": false, "by": "ghost"})),
        )
        .await,
        "ghost",
    );
    assert_not_permitted(
        &app.call(
            "PATCH",
            "/v1/operators/op-1",
            Some(json!({"active": false, "by": "ivy"})),
        )
        .await,
    );
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(operator(&app, "plant", "op-1").await["active"], true);
}
