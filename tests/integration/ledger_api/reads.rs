//! Reads of what does not exist.

use super::*;

#[tokio::test]
async fn every_read_of_an_unknown_tenant_is_a_404_naming_it() {
    let app = plant(1, 1).await;
    for what in [
        "",
        "/subscriptions",
        "/roles",
        "/users",
        "/operators",
        "/seats",
        "/notices",
    ] {
        assert_not_found(&app.get(&format!("/v1/tenants/ghost{what}")).await, "ghost");
    }
}
