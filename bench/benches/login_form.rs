//! Reading a login page: what the login walk pays per page of a provider (`login_form/read/…`:
//! every form of the page, the login form found, its submission encoded with a username and a
//! password). The pages: the mock IdP's own login page (1.1 KB), and a Keycloak-style login
//! page (5 KB of head, styles and scripts around a form with entities in its action).

use criterion::Criterion;
use loadtest::users::login::form::{Fill, FormRules, Forms, urlencoded};
use std::hint::black_box;

const MOCK_IDP: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in · ssobench IdP</title></head><body><main id="login-form"><h1>Log in</h1><form method="post" action="/oauth2/authorize"><input type="hidden" name="client_id" value="store"><input type="hidden" name="redirect_uri" value="http://127.0.0.2:9011/oauth-callback"><input type="hidden" name="response_type" value="code"><input type="hidden" name="scope" value="openid email"><input type="hidden" name="state" value="XpOFUN2ism70G-t3ue7o8B6MVUOGvGuCU3dcJ6x7Mds"><input type="hidden" name="nonce" value="i6e2IcAbGUggfbUaNJTNzzvmDjgZ7Frax2vnQOrw3Do"><input type="hidden" name="code_challenge" value="wD0VibeNXw-IuCdC_LHP5be8gt9dqgDqtOvAg8kgOAM"><input type="hidden" name="code_challenge_method" value="S256"><input type="hidden" name="csrf_token" value="j_nQGmYI7Goayr_aDgFFjSqzUl2F387mIo8qLwBV83g"><label>Login id <input name="loginId" type="email" autocomplete="username" value="" required></label><label>Password <input name="password" type="password" autocomplete="current-password" required></label><button type="submit">Log in</button></form></main></body></html>"#;

/// A page shaped like Keycloak's login page: a long head, a wrapper of divs, the form.
fn keycloak_style() -> String {
    let mut page = String::from(
        "<!DOCTYPE html>\n<html class=\"login-pf\"><head><meta charset=\"utf-8\">\
         <title>Sign in to example</title>\n",
    );
    for sheet in [
        "patternfly.min.css",
        "patternfly-additions.min.css",
        "pficon.css",
        "login.css",
    ] {
        page.push_str(&format!(
            "<link href=\"/resources/abc12/common/keycloak/vendor/{sheet}\" rel=\"stylesheet\" />\n"
        ));
    }
    page.push_str(
        "<script type=\"module\">import { checkCookiesAndSetTimer } from \
         \"/resources/abc12/login/keycloak/js/authChecker.js\";\n\
         checkCookiesAndSetTimer(\"/realms/example/login-actions/restart?client_id=store&tab_id=xyz\");\
         </script></head>\n<body><div class=\"login-pf-page\"><div id=\"kc-header\">Example</div>\
         <div class=\"card-pf\"><header><h1 id=\"kc-page-title\">Sign in to your account</h1>\
         </header><div id=\"kc-content\"><div id=\"kc-form\"><div id=\"kc-form-wrapper\">\n",
    );
    page.push_str(
        "<form id=\"kc-form-login\" onsubmit=\"login.disabled = true; return true;\" \
         action=\"https://idp.example.test/realms/example/login-actions/authenticate?\
         session_code=Ab_cDeFgHiJkLmNoPqRsTuVwXyZ012345&amp;execution=4f2e5b6a-1c2d-4e3f-8a9b\
         &amp;client_id=store&amp;tab_id=xyz\" method=\"post\">\n",
    );
    for _ in 0..12 {
        page.push_str(
            "<div class=\"form-group\"><label class=\"pf-c-form__label pf-c-form__label-text\">\
             A label</label><span class=\"pf-c-helper-text\" aria-live=\"polite\"></span></div>\n",
        );
    }
    page.push_str(
        "<input tabindex=\"2\" id=\"username\" class=\"pf-c-form-control\" name=\"username\" \
         value=\"\" type=\"text\" autofocus autocomplete=\"username\" aria-invalid=\"\"/>\n\
         <input tabindex=\"3\" id=\"password\" class=\"pf-c-form-control\" name=\"password\" \
         type=\"password\" autocomplete=\"current-password\" aria-invalid=\"\"/>\n\
         <button class=\"pf-c-button pf-m-control\" type=\"button\" aria-label=\"Show password\">\
         <i class=\"fa fa-eye fa-fw\" aria-hidden=\"true\"></i></button>\n\
         <input tabindex=\"5\" id=\"rememberMe\" name=\"rememberMe\" type=\"checkbox\"> Remember me\n\
         <input type=\"hidden\" id=\"id-hidden-input\" name=\"credentialId\" />\n\
         <input tabindex=\"7\" class=\"pf-c-button pf-m-primary\" name=\"login\" id=\"kc-login\" \
         type=\"submit\" value=\"Sign In\"/>\n</form></div></div></div></div></div>\n\
         <script type=\"module\" src=\"/resources/abc12/login/keycloak/js/passwordVisibility.js\">\
         </script></body></html>\n",
    );
    page
}

/// Reads `page`, finds its login form and encodes its submission.
fn submit(page: &[u8], rules: &FormRules) -> String {
    let forms = Forms::read(page, rules);
    let form = forms.login_form(rules).expect("a login form");
    urlencoded(&form.data(
        rules,
        Fill {
            username: Some("user7@example.com"),
            password: Some("password"),
        },
    ))
}

pub fn define(c: &mut Criterion) {
    let rules = FormRules::default();
    let keycloak = keycloak_style();
    let mut group = c.benchmark_group("login_form/read");
    for (name, page, expected) in [
        (
            "mock_idp",
            MOCK_IDP,
            "csrf_token=j_nQGmYI7Goayr_aDgFFjSqzUl2F387mIo8qLwBV83g&loginId=user7%40example.com&password=password",
        ),
        (
            "keycloak_style",
            keycloak.as_str(),
            "username=user7%40example.com&password=password&credentialId=&login=Sign+In",
        ),
    ] {
        // Each benchmark checks its own result: the submission as a browser would send it.
        let body = submit(page.as_bytes(), &rules);
        assert!(body.ends_with(expected), "{name}: {body}");
        group.bench_function(name, |b| {
            b.iter(|| black_box(submit(black_box(page.as_bytes()), &rules)));
        });
    }
    group.finish();
}
