//! HTML forms as a browser meets and submits them. A page's forms are read with `lol_html`
//! (Cloudflare's streaming HTML parser, driven by CSS selectors; attribute values and text
//! decoded with `htmlize`, which follows HTML's rules for entities in attributes), and a form is
//! encoded as the HTML standard's form submission algorithm does for
//! `application/x-www-form-urlencoded`: every named, enabled control in document order, checked
//! boxes and radios only, the selected options, and the one submit button that was pressed.
//!
//! Why lol_html: on the mock IdP's 1.1 KB login page, finding the login form took 9–10 µs with
//! it against 22–24 µs with `scraper` (html5ever's full tree) and 14–15 µs with `html5gum` (a
//! tokenizer); on a 5 KB Keycloak-style page 11.5 µs against 77–83 and 37–40 µs (release build,
//! the 2-core EPYC VM; `tl` was as fast but decodes no entities). Only login pages are parsed:
//! the cart hot path keeps its prepared marker search.

use lol_html::html_content::{Element, TextChunk};
use lol_html::{ElementContentHandlers, HtmlRewriter, Selector, Settings};
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

/// How a form is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormMethod {
    Get,
    Post,
}

/// What kind of control an element is, as far as submitting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlKind {
    Hidden,
    /// A text-like input: text, email, tel, number, search, url (and unknown types, which
    /// browsers treat as text).
    Text,
    /// `type=email` (a text-like input that is likelier the username).
    Email,
    Password,
    Checkbox,
    Radio,
    /// A submit button (`<button>` without type or `type=submit`, `<input type=submit>`).
    Submit,
    /// `<input type=image>`: a submit button that sends its click's coordinates.
    Image,
    Select,
    Textarea,
    /// Never submitted: `type=button`, `reset`, `file`.
    Inert,
}

/// One control of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub kind: ControlKind,
    pub name: String,
    /// The value as served (a select's: its selected options', see `options`).
    pub value: String,
    pub checked: bool,
    pub disabled: bool,
    /// A select's options: value and whether selected.
    pub options: Vec<(String, bool)>,
    pub multiple: bool,
    pub id: String,
}

/// A form of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The `action` attribute, decoded; empty or absent means the page's own URL.
    pub action: String,
    pub method: FormMethod,
    /// The `enctype` attribute, lower-case; only urlencoded forms are submitted.
    pub enctype: String,
    pub id: String,
    pub controls: Vec<Control>,
    /// `--login-form`'s selector matched this form.
    pub selected: bool,
}

/// Every form of a page, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forms {
    pub forms: Vec<Form>,
}

/// What the run's flags say about login forms, and the selectors every page is read with,
/// parsed once (parsing them per page cost more than a third of reading the mock IdP's page).
#[derive(Debug, Clone, Default)]
pub struct FormRules {
    /// `--login-form`: the selector of the login form (instead of the first form holding a
    /// password input).
    pub login_form: Option<SelectorText>,
    /// `--username-field` / `--password-field`: the inputs' names (instead of the text or email
    /// input before the password input, and the password input).
    pub username_field: Option<String>,
    pub password_field: Option<String>,
    selectors: Selectors,
}

/// The selectors of the elements a form is read from, and of the texts an option or a
/// textarea holds.
#[derive(Debug, Clone)]
struct Selectors {
    controls: Selector,
    texts: Selector,
}

impl Default for Selectors {
    fn default() -> Self {
        Selectors {
            controls: CONTROLS.parse().unwrap_or_else(|_| unreachable_selector()),
            texts: TEXTS.parse().unwrap_or_else(|_| unreachable_selector()),
        }
    }
}

impl FormRules {
    /// Rules with the flags' overrides.
    pub fn new(
        login_form: Option<SelectorText>,
        username_field: Option<String>,
        password_field: Option<String>,
    ) -> FormRules {
        FormRules {
            login_form,
            username_field,
            password_field,
            selectors: Selectors::default(),
        }
    }
}

/// A CSS selector, parsed once, with its text.
#[derive(Debug, Clone)]
pub struct SelectorText {
    pub text: String,
    selector: Selector,
}

impl SelectorText {
    /// Parses a selector; the error names what lol_html could not take.
    pub fn parse(text: &str) -> Result<SelectorText, String> {
        let selector = text
            .parse::<Selector>()
            .map_err(|error| format!("--login-form {text:?}: {error}"))?;
        Ok(SelectorText {
            text: text.to_owned(),
            selector,
        })
    }
}

/// The controls a browser sends and the container they go in.
#[derive(Debug, Default)]
struct Reading {
    forms: Vec<Form>,
    /// The form whose start tag was seen and end tag not yet (browsers ignore a form start
    /// tag inside another form).
    open: Option<usize>,
    /// Controls with a `form` attribute naming a form by id, placed after reading.
    by_form_id: Vec<(String, Control)>,
    /// Where `--login-form`'s selector matched (start offsets of start tags).
    selected_at: Vec<usize>,
    /// The option or textarea whose text is being read: (form or orphan, control index).
    text_target: Option<TextTarget>,
}

#[derive(Debug, Clone, Copy)]
enum TextTarget {
    /// A textarea: control `index` of form `form`.
    Textarea { form: usize, index: usize },
    /// An option of the select that is control `index` of form `form`.
    Option { form: usize, index: usize },
}

/// The selector of every element the reading looks at.
const CONTROLS: &str = "form, input, button, select, option, textarea";
/// The elements whose text is a value.
const TEXTS: &str = "option, textarea";

impl Forms {
    /// Reads every form of `page` (HTML, UTF-8; anything undecodable is replaced). A page
    /// without a `<form` tag is not parsed at all.
    pub fn read(page: &[u8], rules: &FormRules) -> Forms {
        if !has_form_tag(page) {
            return Forms::default();
        }
        let state = Rc::new(RefCell::new(Reading::default()));
        let mut settings = Settings::new();
        if let Some(selected) = &rules.login_form {
            let state = Rc::clone(&state);
            settings = settings.append_element_content_handler((
                Cow::Borrowed(&selected.selector),
                ElementContentHandlers::default().element(move |element: &mut Element| {
                    state
                        .borrow_mut()
                        .selected_at
                        .push(element.source_location().bytes().start);
                    Ok(())
                }),
            ));
        }
        let on_element = Rc::clone(&state);
        let on_text = Rc::clone(&state);
        settings = settings
            .append_element_content_handler((
                Cow::Borrowed(&rules.selectors.controls),
                ElementContentHandlers::default()
                    .element(move |element: &mut Element| read_element(&on_element, page, element)),
            ))
            .append_element_content_handler((
                Cow::Borrowed(&rules.selectors.texts),
                ElementContentHandlers::default().text(move |chunk: &mut TextChunk<'_>| {
                    read_text(&on_text, chunk);
                    Ok(())
                }),
            ));
        let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
        // A page the parser gives up on (it bails out only on limits) yields the forms read
        // so far.
        let _ = rewriter.write(page).and_then(|()| rewriter.end());
        let mut reading = std::mem::take(&mut *state.borrow_mut());
        for (id, control) in std::mem::take(&mut reading.by_form_id) {
            if let Some(form) = reading.forms.iter_mut().find(|form| form.id == id) {
                form.controls.push(control);
            }
        }
        Forms {
            forms: reading.forms,
        }
    }

    /// The login form: `--login-form`'s, or the first form holding a password input.
    pub fn login_form(&self, rules: &FormRules) -> Option<&Form> {
        if rules.login_form.is_some() {
            return self.forms.iter().find(|form| form.selected);
        }
        self.forms
            .iter()
            .find(|form| form.password_index(rules).is_some())
    }
}

/// Whether `page` has a `<form` tag (any case) anywhere: a quick look before any parsing.
fn has_form_tag(page: &[u8]) -> bool {
    memchr::memchr_iter(b'<', page).any(|at| {
        page.get(at + 1..at + 5)
            .is_some_and(|name| name.eq_ignore_ascii_case(b"form"))
    })
}

/// Selectors written in this file always parse; a failure would be a typo here.
fn unreachable_selector() -> Selector {
    // `*` is a selector lol_html accepts whatever else it refuses.
    "*".parse()
        .unwrap_or_else(|_| unreachable!("lol_html parses `*`"))
}

/// The attributes a form or a control is read by, as slices of the page: nothing is copied or
/// decoded until a value is taken (reading each through lol_html's `get_attribute`, which
/// allocates a string per call, cost a third of a login page's reading).
#[derive(Debug, Default)]
struct Attributes<'p> {
    kind: Option<&'p [u8]>,
    name: Option<&'p [u8]>,
    value: Option<&'p [u8]>,
    id: Option<&'p [u8]>,
    form: Option<&'p [u8]>,
    action: Option<&'p [u8]>,
    method: Option<&'p [u8]>,
    enctype: Option<&'p [u8]>,
    checked: bool,
    disabled: bool,
    multiple: bool,
    selected: bool,
}

impl<'p> Attributes<'p> {
    /// Every attribute of `element` that reading a form looks at; of one named twice, the first
    /// (as browsers keep it).
    fn of(page: &'p [u8], element: &Element) -> Attributes<'p> {
        let mut found = Attributes::default();
        for attribute in element.attributes() {
            let Some(name) = attribute
                .name_source_location()
                .and_then(|at| page.get(at.bytes()))
            else {
                continue;
            };
            let value = attribute
                .value_source_location()
                .and_then(|at| page.get(at.bytes()))
                .unwrap_or_default();
            let slot = match name.to_ascii_lowercase().as_slice() {
                b"type" => &mut found.kind,
                b"name" => &mut found.name,
                b"value" => &mut found.value,
                b"id" => &mut found.id,
                b"form" => &mut found.form,
                b"action" => &mut found.action,
                b"method" => &mut found.method,
                b"enctype" => &mut found.enctype,
                b"checked" => {
                    found.checked = true;
                    continue;
                }
                b"disabled" => {
                    found.disabled = true;
                    continue;
                }
                b"multiple" => {
                    found.multiple = true;
                    continue;
                }
                b"selected" => {
                    found.selected = true;
                    continue;
                }
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        found
    }
}

/// An attribute's value decoded as HTML decodes attribute values (entities, invalid UTF-8
/// replaced).
fn decoded(raw: Option<&[u8]>) -> Option<String> {
    raw.map(|raw| htmlize::unescape_attribute(String::from_utf8_lossy(raw)).into_owned())
}

/// The tag name of the element starting at `at` in `page`, lower-case.
fn tag_name<'p>(page: &'p [u8], element: &Element) -> &'p [u8] {
    let start = element.source_location().bytes().start + 1;
    let rest = page.get(start..).unwrap_or_default();
    let length = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    &rest[..length]
}

fn read_element(
    state: &Rc<RefCell<Reading>>,
    page: &[u8],
    element: &mut Element,
) -> lol_html::HandlerResult {
    let tag = tag_name(page, element).to_ascii_lowercase();
    let attributes = Attributes::of(page, element);
    let mut reading = state.borrow_mut();
    if tag == b"form" {
        if reading.open.is_some() {
            return Ok(());
        }
        let start = element.source_location().bytes().start;
        let selected = reading.selected_at.contains(&start);
        let method = match attributes.method.map(<[u8]>::trim_ascii) {
            Some(method) if method.eq_ignore_ascii_case(b"get") => FormMethod::Get,
            Some(method) if method.eq_ignore_ascii_case(b"post") => FormMethod::Post,
            // An absent or unknown method is GET (dialog is not submitted over the network).
            _ => FormMethod::Get,
        };
        reading.forms.push(Form {
            action: decoded(attributes.action).unwrap_or_default(),
            method,
            enctype: decoded(attributes.enctype)
                .unwrap_or_default()
                .to_ascii_lowercase(),
            id: decoded(attributes.id).unwrap_or_default(),
            controls: Vec::new(),
            selected,
        });
        reading.open = Some(reading.forms.len() - 1);
        if element.can_have_content() {
            let state = Rc::clone(state);
            element.on_end_tag(Box::new(move |_| {
                state.borrow_mut().open = None;
                Ok(())
            }))?;
        }
        return Ok(());
    }
    if tag == b"option" {
        // An option belongs to the last select read.
        let Some(form) = reading.open else {
            return Ok(());
        };
        let Some(index) = reading.forms[form]
            .controls
            .iter()
            .rposition(|control| control.kind == ControlKind::Select)
        else {
            return Ok(());
        };
        let value = decoded(attributes.value);
        let select = &mut reading.forms[form].controls[index];
        select
            .options
            .push((value.clone().unwrap_or_default(), attributes.selected));
        // Without a value attribute, the option's text is its value.
        reading.text_target = value
            .is_none()
            .then_some(TextTarget::Option { form, index });
        return Ok(());
    }
    let kind = match tag.as_slice() {
        b"input" => input_kind(attributes.kind),
        b"button" => match attributes.kind.map(<[u8]>::trim_ascii) {
            None => ControlKind::Submit,
            Some(kind) if kind.eq_ignore_ascii_case(b"submit") => ControlKind::Submit,
            Some(_) => ControlKind::Inert,
        },
        b"select" => ControlKind::Select,
        b"textarea" => ControlKind::Textarea,
        _ => return Ok(()),
    };
    let control = Control {
        kind,
        name: decoded(attributes.name).unwrap_or_default(),
        value: match kind {
            ControlKind::Checkbox | ControlKind::Radio => {
                decoded(attributes.value).unwrap_or_else(|| "on".into())
            }
            _ => decoded(attributes.value).unwrap_or_default(),
        },
        checked: attributes.checked,
        disabled: attributes.disabled,
        options: Vec::new(),
        multiple: attributes.multiple,
        id: decoded(attributes.id).unwrap_or_default(),
    };
    if let Some(form_id) = decoded(attributes.form) {
        reading.by_form_id.push((form_id, control));
        return Ok(());
    }
    let Some(form) = reading.open else {
        return Ok(());
    };
    reading.forms[form].controls.push(control);
    if kind == ControlKind::Textarea {
        let index = reading.forms[form].controls.len() - 1;
        reading.text_target = Some(TextTarget::Textarea { form, index });
    }
    Ok(())
}

fn read_text(state: &Rc<RefCell<Reading>>, chunk: &TextChunk<'_>) {
    let mut reading = state.borrow_mut();
    let Some(target) = reading.text_target else {
        return;
    };
    let text = htmlize::unescape(chunk.as_str());
    match target {
        TextTarget::Textarea { form, index } => {
            reading.forms[form].controls[index].value.push_str(&text);
        }
        TextTarget::Option { form, index } => {
            if let Some(option) = reading.forms[form].controls[index].options.last_mut() {
                option.0.push_str(&text);
            }
        }
    }
    if chunk.last_in_text_node() {
        if let Some(TextTarget::Option { form, index }) = reading.text_target
            && let Some(option) = reading.forms[form].controls[index].options.last_mut()
        {
            // An option's text value has its whitespace collapsed.
            option.0 = option.0.split_whitespace().collect::<Vec<_>>().join(" ");
        }
        reading.text_target = None;
    }
}

fn input_kind(kind: Option<&[u8]>) -> ControlKind {
    let Some(kind) = kind else {
        return ControlKind::Text;
    };
    match kind.trim_ascii().to_ascii_lowercase().as_slice() {
        b"hidden" => ControlKind::Hidden,
        b"password" => ControlKind::Password,
        b"email" => ControlKind::Email,
        b"checkbox" => ControlKind::Checkbox,
        b"radio" => ControlKind::Radio,
        b"submit" => ControlKind::Submit,
        b"image" => ControlKind::Image,
        b"button" | b"reset" | b"file" => ControlKind::Inert,
        _ => ControlKind::Text,
    }
}

/// What the user fills in.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fill<'a> {
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
}

impl Form {
    /// The password input's index: `--password-field`'s, or the first enabled password input.
    pub fn password_index(&self, rules: &FormRules) -> Option<usize> {
        self.controls.iter().position(|control| {
            !control.disabled
                && match &rules.password_field {
                    Some(name) => control.name == *name,
                    None => control.kind == ControlKind::Password,
                }
        })
    }

    /// The username input's index: `--username-field`'s, or the last text or email input
    /// before the password input (the first, on a form without one).
    pub fn username_index(&self, rules: &FormRules) -> Option<usize> {
        if let Some(name) = &rules.username_field {
            return self
                .controls
                .iter()
                .position(|control| !control.disabled && control.name == *name);
        }
        let text_like = |control: &Control| {
            !control.disabled
                && !control.name.is_empty()
                && matches!(control.kind, ControlKind::Text | ControlKind::Email)
        };
        match self.password_index(rules) {
            Some(password) => self.controls[..password].iter().rposition(text_like),
            None => self.controls.iter().position(text_like),
        }
    }

    /// Whether the form sends what this crate can encode.
    pub fn is_urlencoded(&self) -> bool {
        self.enctype.is_empty() || self.enctype == "application/x-www-form-urlencoded"
    }

    /// The form's data set as the browser builds it when the first submit button is pressed
    /// (or none is: Enter in a field of a form without one), with `fill` typed in: every
    /// named, enabled control in document order.
    pub fn data(&self, rules: &FormRules, fill: Fill<'_>) -> Vec<(String, String)> {
        let username = fill.username.and_then(|_| self.username_index(rules));
        let password = fill.password.and_then(|_| self.password_index(rules));
        let submitter = self.controls.iter().position(|control| {
            !control.disabled && matches!(control.kind, ControlKind::Submit | ControlKind::Image)
        });
        let mut data = Vec::with_capacity(self.controls.len() + 2);
        for (index, control) in self.controls.iter().enumerate() {
            // A control without a name is never sent, typed into or not.
            if control.disabled || control.name.is_empty() {
                continue;
            }
            if Some(index) == username {
                data.push((
                    control.name.clone(),
                    fill.username.unwrap_or_default().into(),
                ));
                continue;
            }
            if Some(index) == password {
                data.push((
                    control.name.clone(),
                    fill.password.unwrap_or_default().into(),
                ));
                continue;
            }
            match control.kind {
                ControlKind::Inert => {}
                ControlKind::Checkbox | ControlKind::Radio => {
                    if control.checked {
                        data.push((control.name.clone(), control.value.clone()));
                    }
                }
                ControlKind::Submit => {
                    if Some(index) == submitter {
                        data.push((control.name.clone(), control.value.clone()));
                    }
                }
                ControlKind::Image => {
                    if Some(index) == submitter {
                        data.push((format!("{}.x", control.name), "0".into()));
                        data.push((format!("{}.y", control.name), "0".into()));
                    }
                }
                ControlKind::Select => {
                    let selected: Vec<&(String, bool)> =
                        control.options.iter().filter(|(_, on)| *on).collect();
                    if selected.is_empty() {
                        // A single select shows (and sends) its first option.
                        if let (false, Some((value, _))) =
                            (control.multiple, control.options.first())
                        {
                            data.push((control.name.clone(), value.clone()));
                        }
                    } else {
                        let shown = if control.multiple {
                            &selected[..]
                        } else {
                            &selected[selected.len() - 1..]
                        };
                        for (value, _) in shown {
                            data.push((control.name.clone(), value.clone()));
                        }
                    }
                }
                ControlKind::Hidden
                | ControlKind::Text
                | ControlKind::Email
                | ControlKind::Password
                | ControlKind::Textarea => {
                    data.push((control.name.clone(), control.value.clone()));
                }
            }
        }
        data
    }
}

/// `application/x-www-form-urlencoded` (the URL standard's serializer, as browsers write it).
pub fn urlencoded(data: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(data)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(page: &str) -> Forms {
        Forms::read(page.as_bytes(), &FormRules::default())
    }

    fn login(page: &str, rules: &FormRules) -> (String, FormMethod, String) {
        let forms = Forms::read(page.as_bytes(), rules);
        let form = forms.login_form(rules).expect("a login form").clone();
        let data = form.data(
            rules,
            Fill {
                username: Some("ann@example.com"),
                password: Some("pw & more"),
            },
        );
        (form.action, form.method, urlencoded(&data))
    }

    #[test]
    fn the_mock_idps_form_is_submitted_with_its_fields_as_served() {
        let page = r#"<main id="login-form"><h1>Log in</h1><form method="post" action="/oauth2/authorize"><input type="hidden" name="client_id" value="store"><input type="hidden" name="state" value="a&amp;b"><input type="hidden" name="csrf_token" value="tok-1"><label>Login id <input name="loginId" type="email" value="" required></label><label>Password <input name="password" type="password" required></label><button type="submit">Log in</button></form><form method="post" action="/other"><input type="hidden" name="x" value="y"></form>"#;
        assert_eq!(
            login(page, &FormRules::default()),
            (
                "/oauth2/authorize".to_owned(),
                FormMethod::Post,
                "client_id=store&state=a%26b&csrf_token=tok-1&loginId=ann%40example.com&password=pw+%26+more"
                    .to_owned()
            )
        );
    }

    #[test]
    fn other_markup_still_logs_in() {
        // Attribute order, single and no quotes, upper-case tags, entities in the action,
        // extra inputs, a checked box and an unchecked one, the submit button's name.
        let page = r#"<!DOCTYPE html><HTML><BODY>
            <FORM ID='kc-form-login' ACTION='https://idp.test/auth?session_code=x&amp;execution=y' METHOD=POST>
              <INPUT NAME=username TYPE=text VALUE='' AUTOFOCUS>
              <input value="" type='password' name='password'>
              <input type=checkbox name=rememberMe checked>
              <input type=checkbox name=marketing value=yes>
              <input type="hidden" id="id-hidden-input" name="credentialId" />
              <input type=submit name=login value="Sign In">
              <input type=submit name=other value="Not me">
            </FORM></BODY></HTML>"#;
        assert_eq!(
            login(page, &FormRules::default()),
            (
                "https://idp.test/auth?session_code=x&execution=y".to_owned(),
                FormMethod::Post,
                "username=ann%40example.com&password=pw+%26+more&rememberMe=on&credentialId=&login=Sign+In"
                    .to_owned()
            )
        );
    }

    #[test]
    fn the_form_holding_a_password_input_is_the_login_form_and_flags_override() {
        let page = r#"
            <form action="/search"><input name="q"></form>
            <form id="pw" action="/login" method="post">
              <input name="tenant" type="text" value="acme">
              <input name="user" type="email">
              <input name="secret" type="password">
              <input name="otp" type="password">
            </form>
            <div class="alt"><form id="other" action="/alt" method="post">
              <input name="who"><input name="pin" type="text"></form></div>"#;
        let default = FormRules::default();
        assert_eq!(
            login(page, &default).2,
            "tenant=acme&user=ann%40example.com&secret=pw+%26+more&otp=",
            "the input before the first password input is the username"
        );
        let rules = FormRules::new(
            Some(SelectorText::parse("div.alt > form").expect("selector")),
            Some("who".into()),
            Some("pin".into()),
        );
        assert_eq!(
            login(page, &rules),
            (
                "/alt".to_owned(),
                FormMethod::Post,
                "who=ann%40example.com&pin=pw+%26+more".to_owned()
            )
        );
        assert!(SelectorText::parse("form[").is_err());
    }

    #[test]
    fn selects_textareas_disabled_and_outside_controls_as_browsers_send_them() {
        let page = r#"<form id="f" method="post">
              <select name="one"><option value="a">A</option><option selected>  B
              side </option></select>
              <select name="first"><option>x</option><option>y</option></select>
              <select name="many" multiple><option value="1" selected><option value="2" selected></select>
              <textarea name="note">a &lt; b</textarea>
              <input name="off" value="v" disabled>
              <input type="radio" name="r" value="r1"><input type="radio" name="r" value="r2" checked>
              <button type="button" name="nope">x</button>
              <input type="image" name="go">
            </form>
            <input form="f" name="late" value="1">"#;
        let forms = read(page);
        assert_eq!(forms.forms.len(), 1);
        let form = &forms.forms[0];
        assert_eq!(form.action, "", "no action: the page's own URL");
        assert_eq!(form.password_index(&FormRules::default()), None);
        assert_eq!(
            urlencoded(&form.data(&FormRules::default(), Fill::default())),
            "one=B+side&first=x&many=1&many=2&note=a+%3C+b&r=r2&go.x=0&go.y=0&late=1"
        );
    }

    #[test]
    fn an_identifier_first_page_fills_the_username_only() {
        let page = r#"<form method="post" action="/u/login/identifier?state=s">
            <input type="hidden" name="state" value="s"><input type="text" name="username">
            <button type="submit" name="action" value="default">Continue</button></form>"#;
        let forms = read(page);
        let form = &forms.forms[0];
        let rules = FormRules::default();
        assert_eq!(form.username_index(&rules), Some(1));
        assert_eq!(
            urlencoded(&form.data(
                &rules,
                Fill {
                    username: Some("ann"),
                    password: Some("unused")
                }
            )),
            "state=s&username=ann&action=default"
        );
    }

    #[test]
    fn nested_form_tags_are_ignored_and_pages_without_forms_have_none() {
        let forms = read(
            r#"<form action="/a"><input name="x" value="1"><form action="/b"><input name="y" value="2"></form><input name="z" value="3">"#,
        );
        assert_eq!(forms.forms.len(), 1);
        assert_eq!(forms.forms[0].action, "/a");
        assert_eq!(forms.forms[0].method, FormMethod::Get);
        assert_eq!(read("<p>Error: too many attempts</p>").forms.len(), 0);
        assert_eq!(read("<p>a <formula> is no form").forms.len(), 0);
        assert_eq!(read("<P><FORM ACTION=/x></FORM>").forms.len(), 1);
        assert_eq!(
            Forms::read(b"\xff\xfe<form>", &FormRules::default())
                .forms
                .len(),
            1
        );
    }
}
