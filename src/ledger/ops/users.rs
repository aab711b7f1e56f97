//! The ledger's roles, users (R6, R10) and their named licences (R3).

use super::*;

impl Ledger {
    pub(crate) async fn create_role(&self, tenant: String, input: NewRole) -> Result<RoleView, LedgerError> {
        let name = inputs::id("name", &input.name)?;
        let levels = inputs::levels(&input.levels)?;
        if BUILTIN_ROLES.contains(&name.as_str()) {
            return Err(LedgerError::conflict(
                "builtin_role",
                Some("name"),
                format!("`{name}` is a built-in role and cannot be redefined"),
            ));
        }
        self.write(move |tx, _| {
            tenant_row(tx, &tenant)?;
            let role = RoleRow {
                tenant_id: Some(tenant.clone()),
                name: name.clone(),
                levels,
            };
            tx.insert_role(&tenant, &role)
                .map_err(|e| conflict_or(e, "name", format!("role `{name}` already exists")))?;
            Ok(RoleView::from(&role))
        })
        .await
    }

    pub(crate) async fn list_roles(&self, tenant: String) -> Result<Vec<RoleView>, LedgerError> {
        self.read(move |conn, _| {
            tenant_row(conn, &tenant)?;
            Ok(conn
                .roles_of_tenant(&tenant)?
                .iter()
                .map(RoleView::from)
                .collect())
        })
        .await
    }

    // ------------------------------------------------------------ users

    /// Adds a user; the answer reports the user seats, free ones included (R3).
    pub async fn create_user(
        &self,
        tenant: String,
        input: NewUser,
    ) -> Result<WithSeats<UserView>, LedgerError> {
        let id = inputs::id("id", &input.id)?;
        let name = inputs::name("name", &input.name)?;
        let email = inputs::email("email", &input.email)?;
        let role = inputs::id("role", &input.role)?;
        self.write(move |tx, now| {
            tenant_row(tx, &tenant)?;
            if tx.role(&tenant, &role)?.is_none() {
                return Err(LedgerError::invalid(
                    "role",
                    format!("role `{role}` does not exist in tenant `{tenant}`"),
                ));
            }
            let row = UserRow {
                id: id.clone(),
                tenant_id: tenant.clone(),
                name,
                email,
                role,
                active: true,
                licensed_at: None,
                created_at: now,
                own_operator: None,
            };
            tx.insert_user(&row)
                .map_err(|e| conflict_or(e, "id", format!("user `{id}` already exists")))?;
            let f = facts(tx, &tenant, now)?;
            Ok(WithSeats {
                item: UserView::from(&row),
                seats: SeatsView::from(&f),
            })
        })
        .await
    }

    pub(crate) async fn get_user(&self, id: String) -> Result<UserView, LedgerError> {
        self.read(move |conn, _| Ok(UserView::from(&user_row(conn, &id)?)))
            .await
    }

    pub(crate) async fn list_users(&self, tenant: String) -> Result<Vec<UserView>, LedgerError> {
        self.read(move |conn, _| {
            tenant_row(conn, &tenant)?;
            Ok(conn
                .users_of_tenant(&tenant)?
                .iter()
                .map(UserView::from)
                .collect())
        })
        .await
    }

    /// Activates, deactivates or changes the role of a user; each change is
    /// decided by the policies (R10: the last active admin stays). A user
    /// operator follows its user (R6): it cannot work while its user is inactive.
    pub(crate) async fn update_user(&self, id: String, input: UserChange) -> Result<UserView, LedgerError> {
        if input.active.is_none() && input.role.is_none() {
            return Err(LedgerError::invalid("active", "give `active`, `role` or both"));
        }
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            let user = user_row(tx, &id)?;
            let tenant = tenant_row(tx, &user.tenant_id)?;
            let actor = actor(tx, input.by.as_deref(), &tenant)?;
            let target = || Target::new("User", &id);
            if let Some(role) = &input.role {
                let role = inputs::id("role", role)?;
                if role != user.role {
                    if tx.role(&tenant.id, &role)?.is_none() {
                        return Err(LedgerError::invalid(
                            "role",
                            format!("role `{role}` does not exist in tenant `{}`", tenant.id),
                        ));
                    }
                    let mut ctx = Map::new();
                    ctx.insert("new_role".into(), Value::String(role.clone()));
                    check(&engine, tx, now, &actor, "change_role", target(), Some(ctx))?;
                    tx.set_user_role(&id, &role)?;
                }
            }
            if let Some(active) = input.active
                && active != user.active
            {
                let action = if active {
                    "activate_user"
                } else {
                    "deactivate_user"
                };
                check(&engine, tx, now, &actor, action, target(), None)?;
                tx.set_user_active(&id, active)?;
            }
            Ok(UserView::from(&user_row(tx, &id)?))
        })
        .await
    }

    /// R3: assigns the user a named licence, taking a free user seat.
    pub async fn assign_license(
        &self,
        user: String,
        input: ByOnly,
    ) -> Result<WithSeats<UserView>, LedgerError> {
        self.change_license(user, input, true).await
    }

    /// R3: revokes the user's named licence.
    pub(crate) async fn revoke_license(
        &self,
        user: String,
        input: ByOnly,
    ) -> Result<WithSeats<UserView>, LedgerError> {
        self.change_license(user, input, false).await
    }

    async fn change_license(
        &self,
        user: String,
        input: ByOnly,
        assign: bool,
    ) -> Result<WithSeats<UserView>, LedgerError> {
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            let u = user_row(tx, &user)?;
            let tenant = tenant_row(tx, &u.tenant_id)?;
            let actor = actor(tx, input.by.as_deref(), &tenant)?;
            if u.licensed_at.is_some() != assign {
                let action = if assign {
                    "assign_license"
                } else {
                    "revoke_license"
                };
                check(&engine, tx, now, &actor, action, Target::new("User", &user), None)?;
                tx.set_license(&user, assign.then_some(now))?;
            }
            let f = facts(tx, &tenant.id, now)?;
            Ok(WithSeats {
                item: UserView::from(&user_row(tx, &user)?),
                seats: SeatsView::from(&f),
            })
        })
        .await
    }
}
