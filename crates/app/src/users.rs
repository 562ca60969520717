//! The user directory: admins create and change users, roles and the reporting line.

use outlay_domain::user::{check_password, check_reporting_line, normalise_roles, parse_name};
use outlay_domain::{Email, Role, User, UserId};

use crate::{
    App, AppError, Caller, Change, Guard, Page, PageRequest, Result, Write, check_version, require,
};

/// A new user, as an admin (or the command line) describes them.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login and notification address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Local password; `None` for users who sign in through an identity provider.
    pub password: Option<String>,
    /// Roles; employee is always added.
    pub roles: Vec<Role>,
    /// Whom they report to.
    pub manager_id: Option<UserId>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New display name.
    pub name: Option<String>,
    /// New password.
    pub password: Option<String>,
    /// New roles (employee is always kept).
    pub roles: Option<Vec<Role>>,
    /// New manager; `Some(None)` removes the manager.
    pub manager_id: Option<Option<UserId>>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// New home cost centre (its code); `Some(None)` removes it.
    pub home_cost_centre: Option<Option<String>>,
}

impl App {
    /// The caller's own profile.
    pub fn me(&self, caller: &Caller) -> User {
        caller.user.clone()
    }

    /// Every user (admin).
    pub async fn list_users(&self, caller: &Caller, page: &PageRequest) -> Result<Page<User>> {
        require(caller, Role::Admin)?;
        Ok(self.store.users(page).await?)
    }

    /// Creates a user: an admin through the API, or the system (`caller: None`) from the
    /// command line and the demo seed.
    pub async fn create_user(&self, caller: Option<&Caller>, new: NewUser) -> Result<User> {
        if let Some(c) = caller {
            require(c, Role::Admin)?;
        }
        let email = Email::parse(&new.email)?;
        let name = parse_name(&new.name)?;
        let mut guards: Vec<Guard> = caller.map(|c| Guard::user(&c.user)).into_iter().collect();
        if let Some(m) = new.manager_id {
            guards.push(Guard::user(&self.existing_manager(m).await?));
        }
        if let Some(p) = &new.password {
            check_password(p)?;
        }
        let roles = normalise_roles(new.roles);
        let role_list: Vec<Role> = roles.iter().copied().collect();
        let (id, password_hash) = match &self.identities {
            // Users sign in at the identity provider: its subject is their id, and it keeps
            // the password.
            Some(idp) => {
                if self.store.user_by_email(&email).await?.is_some() {
                    return Err(AppError::Conflict(
                        "a user with this email already exists".into(),
                    ));
                }
                (
                    idp.create(&email, &name, new.password.as_deref(), &role_list)
                        .await?,
                    None,
                )
            }
            None => {
                let hash = match &new.password {
                    Some(p) => Some(self.hash_password(p).await?),
                    None => None,
                };
                (UserId::from_uuid(self.ids.new_id()), hash)
            }
        };
        let mut user = User {
            id,
            email,
            name,
            roles,
            manager_id: new.manager_id,
            active: true,
            version: 1,
            controllers: Default::default(),
            signed_out_at: None,
            time_zone: None,
            delegation: None,
            home_cost_centre: None,
        };
        if let Some(c) = caller {
            user.controlled_by(&c.user);
        }
        let audit = self.audit_record(
            caller,
            "user.create",
            "user",
            user.id,
            None::<&User>,
            Some(&user),
        )?;
        let write = Write::PutUser {
            user: user.clone(),
            password_hash,
            expected_version: None,
        };
        self.store
            .commit(Change::one(write, audit).guarded(guards))
            .await?;
        Ok(user)
    }

    /// Changes a user (admin). Admins cannot change their own roles or reporting line, nor
    /// deactivate themselves: another admin must.
    pub async fn update_user(
        &self,
        caller: &Caller,
        id: UserId,
        patch: UserPatch,
        expected_version: Option<i64>,
    ) -> Result<User> {
        require(caller, Role::Admin)?;
        let before = self
            .store
            .user(id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        check_version(expected_version, before.version)?;
        // The home cost centre decides routing rules ("charged outside the home cost centre"),
        // so it is a power over one's own approvals too.
        let touches_own_powers = patch.roles.is_some()
            || patch.manager_id.is_some()
            || patch.active == Some(false)
            || patch.home_cost_centre.is_some();
        if id == caller.user.id && touches_own_powers {
            return Err(AppError::Forbidden(
                "admins cannot change their own roles, manager, home cost centre or active flag; ask another admin"
                    .into(),
            ));
        }
        let mut user = before.clone();
        let mut guards = vec![Guard::user(&caller.user)];
        if let Some(name) = &patch.name {
            user.name = parse_name(name)?;
        }
        if let Some(roles) = patch.roles {
            user.roles = normalise_roles(roles);
        }
        if let Some(active) = patch.active {
            user.active = active;
        }
        if let Some(home) = patch.home_cost_centre {
            let home = home
                .map(|c| outlay_domain::org::parse_code("cost centre", &c))
                .transpose()
                .map_err(|e| AppError::BadInput(e.to_string()))?;
            let (policy, stored) = self.policy_as_stored().await?;
            if let Some(code) = home
                .as_deref()
                .filter(|c| policy.org.cost_centre(c).is_none())
            {
                return Err(AppError::Unprocessable(format!(
                    "there is no cost centre {code}"
                )));
            }
            guards.push(Guard::policy(stored));
            user.home_cost_centre = home;
        }
        if let Some(manager) = patch.manager_id {
            if let Some(m) = manager {
                self.existing_manager(m).await?;
            }
            let mut chain = std::collections::HashMap::new();
            let mut next = manager;
            // Load the would-be chain once; the check itself is pure. Every account read is
            // guarded, so two changes that each close half of a loop cannot both commit.
            while let Some(m) = next {
                if chain.contains_key(&m) || m == id {
                    break;
                }
                let up = match self.store.user(m).await? {
                    Some(u) => {
                        guards.push(Guard::user(&u));
                        u.manager_id
                    }
                    None => None,
                };
                chain.insert(m, up);
                next = up;
            }
            check_reporting_line(id, manager, |u| chain.get(&u).copied().flatten())?;
            user.manager_id = manager;
        }
        let password_hash = match (&patch.password, &self.identities) {
            (Some(p), None) => {
                check_password(p)?;
                Some(self.hash_password(p).await?)
            }
            (Some(_), Some(_)) => {
                return Err(AppError::BadInput(
                    "passwords are managed by the identity provider here".into(),
                ));
            }
            (None, _) => None,
        };
        if password_hash.is_some() || (before.active && !user.active) {
            // A new password or a deactivation ends every session the account had: whoever
            // held its old password or a stolen cookie is signed out.
            user.signed_out_at = Some(self.clock.now());
        }
        if user == before && password_hash.is_none() {
            // Nothing changes, so nothing is written: no new version, no audit event.
            return Ok(before);
        }
        if user.roles != before.roles
            || user.manager_id != before.manager_id
            || password_hash.is_some()
        {
            user.controlled_by(&caller.user);
        }
        if let Some(idp) = &self.identities {
            // The identity provider first: a failure there leaves Outlay unchanged.
            if user.roles != before.roles {
                idp.set_roles(&user.email, &user.roles.iter().copied().collect::<Vec<_>>())
                    .await?;
            }
            if user.active != before.active {
                idp.set_active(&user.email, user.active).await?;
            }
        }
        user.version += 1;
        let audit = self.audit_record(
            Some(caller),
            "user.update",
            "user",
            id,
            Some(&before),
            Some(&user),
        )?;
        let write = Write::PutUser {
            user: user.clone(),
            password_hash,
            expected_version: Some(before.version),
        };
        self.store
            .commit(Change::one(write, audit).guarded(guards))
            .await?;
        Ok(user)
    }

    async fn existing_manager(&self, id: UserId) -> Result<User> {
        self.store
            .user(id)
            .await?
            .ok_or_else(|| AppError::Unprocessable(format!("manager {id} does not exist")))
    }

    /// Hashes a new password in one of the bounded hashing slots.
    async fn hash_password(&self, password: &str) -> Result<String> {
        let (login, password) = (self.password_login()?.clone(), password.to_owned());
        Ok(self
            .hashing
            .run(async move { login.hash_password(&password).await })
            .await??)
    }

    fn password_login(&self) -> Result<&std::sync::Arc<dyn crate::PasswordLogin>> {
        self.login
            .as_ref()
            .ok_or_else(|| AppError::BadInput("this deployment has no local passwords".into()))
    }
}

impl App {
    /// Stores the default policy if there is none yet, so a fresh install is usable.
    pub async fn ensure_policy(&self) -> Result<()> {
        if self.store.policy().await?.is_some() {
            return Ok(());
        }
        let policy = crate::default_policy();
        let audit = self.audit_record(
            None,
            "policy.create",
            "policy",
            "company",
            None::<&outlay_domain::Policy>,
            Some(&policy),
        )?;
        // Only if there still is none: another instance, or finance, may have stored one since.
        let change = Change::one(Write::PutPolicy(policy), audit).guarded([Guard::Policy(None)]);
        match self.store.commit(change).await {
            Ok(()) | Err(crate::StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
