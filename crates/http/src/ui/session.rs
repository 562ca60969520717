//! The signed-in user of a page: the session cookie, its CSRF token, and the forms checked against it.

use super::*;

/// The signed-in user of a page, with their CSRF token.
pub(crate) struct Session {
    pub caller: Caller,
    pub csrf: String,
    /// `Set-Cookie` values the page sends (a renewed session, a consumed flash).
    pub(crate) cookies: Vec<String>,
    /// What the form posted just before said, if it failed (post/redirect/get).
    pub(crate) flash: Option<Flash>,
    /// Whether cookies must be `Secure`.
    secure: bool,
    /// The zone the user reads times in.
    pub(crate) zone: outlay_domain::TimeZone,
}

/// The cookie that carries a failed form's message and values to the page it returns to.
pub(crate) const FLASH_COOKIE: &str = "outlay_flash";

/// The largest flash kept whole; beyond it the form's values are dropped, not the message.
const FLASH_MAX: usize = 3_000;

/// A failed form post's message, and the values it carried (JSON), for the page it returns to.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub(crate) struct Flash {
    pub(crate) message: String,
    /// Whether the message says something went well (a notice) rather than wrong.
    #[serde(default)]
    pub(crate) ok: bool,
    #[serde(default)]
    pub(crate) form: Option<serde_json::Value>,
}

impl Flash {
    /// The form's values, as the page's form type.
    pub(crate) fn form<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        self.form
            .clone()
            .and_then(|f| serde_json::from_value(f).ok())
    }
}

/// The value of the request's cookie `wanted`, if it has a non-empty one.
pub(crate) fn cookie_value(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == wanted && !value.is_empty()).then(|| value.to_owned())
        })
}

/// Whether two secrets (tokens, MACs) are equal, in time that does not depend on where they
/// differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A page to go to after signing in: only paths inside Outlay, never an open redirect. Browsers
/// drop tabs and line breaks from URLs (`/\t/evil.example` is `//evil.example` to them), so
/// only visible ASCII passes, and a short path (it travels in a cookie).
pub(crate) fn safe_next(next: &str) -> &str {
    let inside = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 1024
        && next.bytes().all(|b| b.is_ascii_graphic());
    if inside { next } else { "/expenses" }
}

pub(crate) fn is_https(state: &AppState, headers: &HeaderMap) -> bool {
    state
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
        || state.forwarded_https(headers)
}

pub(crate) fn cookie(state: &AppState, headers: &HeaderMap, value: &str, max_age: u64) -> String {
    named_cookie(state, headers, SESSION_COOKIE, value, max_age)
}

/// A `Set-Cookie` value for `name`, under the base path, `HttpOnly`, `SameSite=Strict`, and
/// `Secure` behind HTTPS.
pub(crate) fn named_cookie(
    state: &AppState,
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age: u64,
) -> String {
    let path = if state.base_path.is_empty() {
        "/"
    } else {
        &state.base_path
    };
    let secure = if is_https(state, headers) {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

impl AppState {
    /// A flash sealed for this session: readable, but only this server makes one that opens.
    fn seal_flash(&self, csrf: &str, flash: &Flash) -> String {
        use base64::Engine;
        let json = serde_json::to_vec(flash).unwrap_or_default();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        let mac = self.mac(&format!("flash:{csrf}:{payload}"));
        format!("{payload}.{mac}")
    }

    /// The flash in `value`, if this server sealed it for this session.
    fn open_flash(&self, csrf: &str, value: &str) -> Option<Flash> {
        use base64::Engine;
        let (payload, mac) = value.split_once('.')?;
        if !same_secret(mac, &self.mac(&format!("flash:{csrf}:{payload}"))) {
            return None;
        }
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()?;
        serde_json::from_slice(&json).ok()
    }

    pub(crate) fn mac(&self, text: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.session_key)
            .expect("HMAC takes keys of any length");
        mac.update(text.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The CSRF token of a session: bound to the user and to this sign-in, so that it differs
    /// per session and dies with it.
    pub(crate) fn csrf_for(&self, caller: &Caller) -> String {
        let session = caller.session.as_ref().map_or("", |s| s.id.as_str());
        self.mac(&format!("csrf:{}:{session}", caller.user.id))
    }
}

/// The cookie that carries the sign-in form's pre-session secret.
pub(crate) const LOGIN_COOKIE: &str = "outlay_login";

/// A fresh pre-session secret for the sign-in form.
pub(crate) fn login_secret() -> String {
    let mut bytes = [0_u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("the system's random source works");
    hex::encode(bytes)
}

/// Whether a form post was sent by a page of this origin, as far as the browser says: a
/// cross-site `Sec-Fetch-Site`, or an `Origin` of another host, is refused.
pub(crate) fn same_origin_post(state: &AppState, headers: &HeaderMap) -> bool {
    let site_ok = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| matches!(v, "same-origin" | "none"));
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|origin| {
            let host = |u: &str| {
                u.split_once("://")
                    .map(|(_, rest)| rest.split('/').next().unwrap_or("").to_ascii_lowercase())
            };
            // The configured public URL, or the Host the browser sent this very request to:
            // another site cannot make a victim's browser send our Host with its Origin.
            let request_host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_ascii_lowercase);
            let public = state.public_url.as_deref().and_then(host);
            host(origin)
                .is_some_and(|o| Some(&o) == public.as_ref() || Some(&o) == request_host.as_ref())
        });
    site_ok && origin_ok
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            let next = next
                .strip_prefix(&state.base_path)
                .unwrap_or(&next)
                .to_owned();
            let target = format!("{}?next={}", url(state, "/login"), urlencode(&next));
            let mut r = Redirect::to(&target).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie(state, &parts.headers, "", 0)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        };
        let Some(token) = cookie_value(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let source = state.client_address(&parts.headers, &parts.extensions);
        let caller = state
            .app
            .authenticate(&token, source)
            .await
            .map_err(|_| to_login())?;
        tracing::Span::current().record("user_id", tracing::field::display(caller.user.id));
        let renewed = state
            .app
            .reissue_token(&caller)
            .ok()
            .map(|t| cookie(state, &parts.headers, &t.token, t.expires_in));
        let csrf = state.csrf_for(&caller);
        let flash =
            cookie_value(&parts.headers, FLASH_COOKIE).and_then(|v| state.open_flash(&csrf, &v));
        let secure = is_https(state, &parts.headers);
        let zone = state.app.time_zone(&caller).await.unwrap_or_default();
        let mut cookies: Vec<String> = renewed.into_iter().collect();
        if flash.is_some() {
            cookies.push(named_cookie(state, &parts.headers, FLASH_COOKIE, "", 0));
        }
        Ok(Session {
            csrf,
            caller,
            cookies,
            flash,
            secure,
            zone,
        })
    }
}

/// A form a signed-in user posted, its CSRF token already checked against their session: the
/// handler gets the session and the form, or the request is refused before it runs.
pub(crate) struct CsrfForm<T>(pub Session, pub T);

/// A form that carries the page's CSRF token.
pub(crate) trait CsrfToken {
    /// The token the form carried.
    fn csrf(&self) -> &str;
}

/// Implements [`CsrfToken`] for forms with a `csrf` field.
macro_rules! csrf_token {
    ($($form:ty),+ $(,)?) => {
        $(impl $crate::ui::CsrfToken for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })+
    };
}

pub(crate) use csrf_token;

impl<T> axum::extract::FromRequest<AppState> for CsrfForm<T>
where
    T: serde::de::DeserializeOwned + CsrfToken + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        let Form(form) = Form::<T>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        session
            .check(form.csrf())
            .map_err(IntoResponse::into_response)?;
        Ok(Self(session, form))
    }
}

impl Session {
    /// Refuses a form whose CSRF token is not this user's.
    pub fn check(&self, token: &str) -> Result<(), ErrorPage> {
        if same_secret(token, &self.csrf) {
            Ok(())
        } else {
            Err(ErrorPage(StatusCode::FORBIDDEN, "This form did not come from this Outlay page or has expired. Go back, reload the page and try again.".into()))
        }
    }

    pub fn has(&self, role: Role) -> bool {
        self.caller.user.has(role)
    }

    /// Post/redirect/get for a form that failed: back to `path` (a GET page), carrying the
    /// message and the form's values in a sealed, short-lived cookie, so that a reload of the
    /// page it lands on posts nothing again.
    pub(crate) fn back(
        &self,
        state: &AppState,
        path: &str,
        message: &str,
        form: Option<&impl serde::Serialize>,
    ) -> Response {
        self.redirect_with(
            state,
            path,
            Flash {
                message: message.chars().take(2_000).collect(),
                ok: false,
                form: form.and_then(|f| serde_json::to_value(f).ok()),
            },
        )
    }

    /// Post/redirect/get for a form that worked: on to `path`, saying `message` there.
    pub(crate) fn done(&self, state: &AppState, path: &str, message: &str) -> Response {
        self.redirect_with(
            state,
            path,
            Flash {
                message: message.chars().take(2_000).collect(),
                ok: true,
                form: None,
            },
        )
    }

    fn redirect_with(&self, state: &AppState, path: &str, mut flash: Flash) -> Response {
        let mut sealed = state.seal_flash(&self.csrf, &flash);
        if sealed.len() > FLASH_MAX {
            flash.form = None;
            sealed = state.seal_flash(&self.csrf, &flash);
        }
        // A browser drops a cookie over 4 KB: shorten the message (by characters, so that
        // what is left is whole) until the sealed value fits.
        while sealed.len() > FLASH_MAX && !flash.message.is_empty() {
            let keep = flash.message.chars().count() * 3 / 4;
            flash.message = flash.message.chars().take(keep).collect::<String>() + "…";
            if keep == 0 {
                flash.message.clear();
            }
            sealed = state.seal_flash(&self.csrf, &flash);
        }
        let base = if state.base_path.is_empty() {
            "/"
        } else {
            &state.base_path
        };
        let secure = if self.secure { "; Secure" } else { "" };
        let mut r = Redirect::to(&url(state, path)).into_response();
        for c in self
            .cookies
            .iter()
            .filter(|c| !c.starts_with(FLASH_COOKIE))
            .cloned()
            .chain(std::iter::once(format!(
                "{FLASH_COOKIE}={sealed}; Path={base}; Max-Age=60; HttpOnly; SameSite=Strict{secure}"
            )))
        {
            if let Ok(v) = HeaderValue::from_str(&c) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        r
    }

    /// The message of the form posted just before, if any: (the message, whether it is good news).
    pub(crate) fn flash_message(&self) -> Option<(&str, bool)> {
        self.flash.as_ref().map(|f| (f.message.as_str(), f.ok))
    }

    /// The values of the form that failed just before, as `T`, if any.
    pub(crate) fn flash_form<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        self.flash.as_ref().and_then(Flash::form)
    }

    /// Today in the user's zone, for the date inputs' bounds.
    pub fn today(&self) -> chrono::NaiveDate {
        self.zone.day(chrono::Utc::now())
    }

    /// A time for this user: in their zone, named.
    pub fn when(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        self.zone.show(t)
    }
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A form with nothing but its CSRF token (a button).
#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}
csrf_token!(CsrfOnly);
