//! Checks before any call: each refusal names the property and the fix.

use std::collections::BTreeSet;
use std::net::IpAddr;

use reqwest::Url;
use rpdk::HandlerError;

use crate::model::{Connector, Group, User};

/// A connector's name, URL and tags.
pub fn connector(model: &Connector) -> Result<(), HandlerError> {
    name("Name", &model.name)?;
    base_url(&model.base_url)?;
    if let Some(token) = &model.bearer_token {
        if token.expose().trim().is_empty() {
            return Err(HandlerError::invalid_request("BearerToken: empty; give the token the SCIM service expects"));
        }
        // It travels in an HTTP header, where a line break would end it.
        if token.expose().chars().any(char::is_control) {
            return Err(HandlerError::invalid_request(
                "BearerToken: holds a control character (a line break, a tab, ...); give the token alone",
            ));
        }
    }
    let tags = model.tags.iter().flatten().map(|tag| (tag.key.as_str(), tag.value.as_str()));
    rpdk_aws::tags::check(tags, rpdk_aws::tags::IAM_SSM_TAGS)?;
    Ok(())
}

/// The SCIM base URL: https, or http to a loopback host; no credentials, query or fragment.
/// Messages show it without its credentials, query and fragment, where tokens hide.
pub fn base_url(value: &str) -> Result<(), HandlerError> {
    let url = Url::parse(value).map_err(|e| {
        HandlerError::invalid_request(format!("BaseUrl: not a URL ({e}); give e.g. https://idp.example.com/scim/v2"))
    })?;
    let mut shown = url.clone();
    // Only URLs that cannot have them refuse these, and those have none to hide.
    let _ = (shown.set_username(""), shown.set_password(None));
    shown.set_query(None);
    shown.set_fragment(None);
    let value = shown.as_str();
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(HandlerError::invalid_request(format!(
                "BaseUrl: '{value}' is plain http; the token must travel over TLS: use https (http is allowed only for loopback hosts)"
            )));
        }
        other => {
            return Err(HandlerError::invalid_request(format!(
                "BaseUrl: scheme '{other}' is not http(s); give the https URL of the SCIM service"
            )));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(HandlerError::invalid_request(
            "BaseUrl: holds credentials; remove them and give the token in BearerToken",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(HandlerError::invalid_request(format!(
            "BaseUrl: '{value}' has a query or fragment (not shown); give the base URL alone"
        )));
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => {
            host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}

/// A user's connector name and e-mail addresses.
pub fn user(model: &User) -> Result<(), HandlerError> {
    name("Connector", &model.connector)?;
    if model.user_name.trim().is_empty() {
        return Err(HandlerError::invalid_request("UserName: empty; give the name the user signs in with"));
    }
    let emails = model.emails.as_deref().unwrap_or_default();
    if emails.iter().filter(|e| e.primary == Some(true)).count() > 1 {
        return Err(HandlerError::invalid_request("Emails: more than one is Primary; mark one address at most"));
    }
    let mut seen = BTreeSet::new();
    for (index, email) in emails.iter().enumerate() {
        if !seen.insert(email.value.to_ascii_lowercase()) {
            return Err(HandlerError::invalid_request(format!(
                "Emails[{index}].Value: '{}' appears twice; list each address once",
                email.value
            )));
        }
    }
    Ok(())
}

/// A group's connector name and members.
pub fn group(model: &Group) -> Result<(), HandlerError> {
    name("Connector", &model.connector)?;
    if model.display_name.trim().is_empty() {
        return Err(HandlerError::invalid_request("DisplayName: empty; give the group a name"));
    }
    let mut seen = BTreeSet::new();
    for (index, member) in model.members.iter().flatten().enumerate() {
        if !seen.insert(member) {
            return Err(HandlerError::invalid_request(format!(
                "Members[{index}]: '{member}' appears twice; list each user id once"
            )));
        }
    }
    Ok(())
}

fn name(property: &str, value: &str) -> Result<(), HandlerError> {
    let valid =
        (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if valid {
        return Ok(());
    }
    Err(HandlerError::invalid_request(format!(
        "{property}: '{value}' is not a connector name (1-64 of A-Z, a-z, 0-9, _ . -)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Email;

    #[test]
    fn a_url_s_query_and_credentials_never_show_in_a_message() {
        for url in [
            "https://idp.example.com/scim?access_token=s3cret",
            "http://user:s3cret@idp.example.com/scim?access_token=s3cret",
        ] {
            let message = base_url(url).expect_err("refused").message().to_owned();
            assert!(message.starts_with("BaseUrl: ") && !message.contains("s3cret"), "{message}");
        }
    }

    #[test]
    fn base_urls_need_tls_unless_loopback() {
        for ok in [
            "https://idp.example.com/scim/v2",
            "http://127.0.0.1:8080/v2",
            "http://localhost/scim",
            "http://[::1]:9000/",
        ] {
            assert!(base_url(ok).is_ok(), "{ok}");
        }
        for (bad, says) in [
            ("http://idp.example.com/scim", "plain http"),
            ("ftp://idp.example.com", "scheme 'ftp'"),
            ("https://user:pw@idp.example.com", "credentials"),
            ("https://idp.example.com/scim?tenant=1", "query"),
            ("idp.example.com", "not a URL"),
        ] {
            let error = base_url(bad).expect_err(bad);
            assert!(
                error.message().starts_with("BaseUrl: ") && error.message().contains(says),
                "{bad}: {}",
                error.message()
            );
        }
    }

    #[test]
    fn one_primary_email_and_no_duplicates() {
        let email = |value: &str, primary| Email { value: value.into(), r#type: None, primary: Some(primary) };
        let mut model = User { connector: "hr".into(), user_name: "ada".into(), ..User::default() };
        model.emails = Some(vec![email("a@example.com", true), email("b@example.com", true)]);
        assert!(user(&model).expect_err("two primaries").message().starts_with("Emails:"));
        model.emails = Some(vec![email("a@example.com", true), email("A@example.com", false)]);
        assert!(user(&model).expect_err("duplicate").message().starts_with("Emails[1].Value"));
        model.connector = "no spaces".into();
        assert!(user(&model).expect_err("bad connector").message().starts_with("Connector:"));
    }

    #[test]
    fn members_are_listed_once() {
        let model = Group {
            connector: "hr".into(),
            display_name: "Eng".into(),
            members: Some(vec!["a".into(), "b".into(), "a".into()]),
            id: None,
        };
        assert!(group(&model).expect_err("duplicate").message().starts_with("Members[2]"));
    }
}
