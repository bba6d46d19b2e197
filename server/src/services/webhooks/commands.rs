//! `WebhookService` requests parsed into commands: every field is checked
//! and one INVALID_ARGUMENT names every violation.

use tasktracker_proto::v1;

use crate::{
    domain::{DeliveryName, Invalid, ProjectId, Violations, WebhookName, page::PageRequest},
    webhooks::address::{Target, parse_url},
};

/// Every updatable field, for `update_mask` `*`.
const UPDATABLE: &[&str] = &["url", "event_kinds", "paused"];

/// What a create or update sets; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct WebhookSpec {
    pub url: Option<(String, Target)>,
    /// `WebhookEventKind` numbers, sorted, each once; empty is every kind.
    pub event_kinds: Option<Vec<i16>>,
    pub paused: Option<bool>,
}

impl WebhookSpec {
    /// Parses the fields of `webhook` that `paths` name, as `webhook.<field>`.
    fn parse(webhook: &v1::Webhook, paths: &[&str], violations: &mut Violations) -> Self {
        let wants = |field: &str| paths.contains(&field);
        let mut spec = Self::default();
        if wants("url") {
            let url = webhook.url.trim();
            spec.url = violations.check(parse_url("webhook.url", url)).map(|target| (url.to_owned(), target));
        }
        if wants("event_kinds") {
            let mut kinds = Vec::new();
            for (index, kind) in webhook.event_kinds.iter().enumerate() {
                match v1::WebhookEventKind::try_from(*kind) {
                    Ok(v1::WebhookEventKind::Unspecified) | Err(_) => violations
                        .add(format!("webhook.event_kinds[{index}]"), format!("is not a webhook event kind ({kind})")),
                    Ok(kind) => kinds.push(kind as i16),
                }
            }
            kinds.sort_unstable();
            kinds.dedup();
            spec.event_kinds = Some(kinds);
        }
        if wants("paused") {
            spec.paused = Some(webhook.paused);
        }
        spec
    }
}

/// `CreateWebhook`.
#[derive(Debug)]
pub struct CreateWebhook {
    pub project: ProjectId,
    pub spec: WebhookSpec,
}

impl TryFrom<v1::CreateWebhookRequest> for CreateWebhook {
    type Error = Invalid;

    fn try_from(request: v1::CreateWebhookRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("parent", &request.parent));
        let Some(webhook) = violations.required("webhook", &request.webhook) else {
            return Err(violations.finish().expect_err("a violation was recorded"));
        };
        let spec = WebhookSpec::parse(webhook, UPDATABLE, &mut violations);
        violations.complete(|| Some(Self { project: project?, spec }))
    }
}

/// `UpdateWebhook`.
#[derive(Debug)]
pub struct UpdateWebhook {
    pub name: WebhookName,
    pub etag: String,
    pub spec: WebhookSpec,
}

impl TryFrom<v1::UpdateWebhookRequest> for UpdateWebhook {
    type Error = Invalid;

    fn try_from(request: v1::UpdateWebhookRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let Some(webhook) = violations.required("webhook", &request.webhook) else {
            return Err(violations.finish().expect_err("a violation was recorded"));
        };
        let name = violations.check(WebhookName::parse("webhook.name", &webhook.name));
        let paths = request.update_mask.map(|mask| mask.paths).unwrap_or_default();
        let named = violations.update_mask(&paths, UPDATABLE);
        let spec = WebhookSpec::parse(webhook, &named, &mut violations);
        violations.complete(|| Some(Self { name: name?, etag: webhook.etag.clone(), spec }))
    }
}

/// `ListWebhookDeliveries`.
#[derive(Debug)]
pub struct ListDeliveries {
    pub webhook: WebhookName,
    pub page: PageRequest,
}

impl TryFrom<v1::ListWebhookDeliveriesRequest> for ListDeliveries {
    type Error = Invalid;

    fn try_from(request: v1::ListWebhookDeliveriesRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let webhook = violations.check(WebhookName::parse("parent", &request.parent));
        let page =
            PageRequest::parse(&mut violations, request.page_size, &request.page_token, (50, 100), &request.parent);
        violations.complete(|| Some(Self { webhook: webhook?, page: page? }))
    }
}

/// `RedeliverWebhook`.
pub fn redeliver(request: &v1::RedeliverWebhookRequest) -> Result<DeliveryName, Invalid> {
    DeliveryName::parse("name", &request.name).map_err(|violation| Invalid(vec![violation]))
}

/// `ReplayWebhook`: the webhook and the cursor to replay after.
#[derive(Debug)]
pub struct Replay {
    pub name: WebhookName,
    pub after: i64,
}

impl TryFrom<v1::ReplayWebhookRequest> for Replay {
    type Error = Invalid;

    fn try_from(request: v1::ReplayWebhookRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let name = violations.check(WebhookName::parse("name", &request.name));
        let after = match request.cursor.trim().parse::<i64>() {
            Ok(cursor) if cursor >= 0 => Some(cursor),
            _ if request.cursor.is_empty() => {
                violations.add("cursor", "is required: a feed cursor, or 0 for the whole feed kept");
                None
            }
            _ => {
                violations.add("cursor", "must be a feed cursor (a delivery's or a task event's)");
                None
            }
        };
        violations.complete(|| Some(Self { name: name?, after: after? }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(invalid: Invalid) -> Vec<String> {
        invalid.0.into_iter().map(|violation| violation.field).collect()
    }

    #[test]
    fn creates_check_the_url_and_the_kinds() {
        let request = |url: &str, kinds: Vec<i32>| v1::CreateWebhookRequest {
            parent: format!("projects/{}", ProjectId::generate()),
            webhook: Some(v1::Webhook { url: url.into(), event_kinds: kinds, ..Default::default() }),
        };
        let created = CreateWebhook::try_from(request(" https://hooks.example.com/x ", vec![2, 1, 2])).unwrap();
        assert_eq!(created.spec.url.unwrap().0, "https://hooks.example.com/x");
        assert_eq!(created.spec.event_kinds, Some(vec![1, 2]));
        let bad = CreateWebhook::try_from(request("gopher://example.com", vec![0, 99])).unwrap_err();
        assert_eq!(fields(bad), ["webhook.url", "webhook.event_kinds[0]", "webhook.event_kinds[1]"]);
        let missing = CreateWebhook::try_from(v1::CreateWebhookRequest { parent: "x".into(), webhook: None });
        assert_eq!(fields(missing.unwrap_err()), ["parent", "webhook"]);
    }

    #[test]
    fn updates_need_a_mask_of_updatable_fields() {
        let name = format!("projects/{}/webhooks/{}", ProjectId::generate(), crate::domain::WebhookId::generate());
        let update = |paths: &[&str]| v1::UpdateWebhookRequest {
            webhook: Some(v1::Webhook { name: name.clone(), paused: true, ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: paths.iter().map(|path| (*path).to_owned()).collect() }),
        };
        let paused = UpdateWebhook::try_from(update(&["paused"])).unwrap();
        assert_eq!((paused.spec.paused, paused.spec.url.is_none()), (Some(true), true));
        assert_eq!(fields(UpdateWebhook::try_from(update(&["secret"])).unwrap_err()), ["update_mask"]);
        assert_eq!(fields(UpdateWebhook::try_from(update(&[])).unwrap_err()), ["update_mask"]);
        // `*` includes the URL, which is then required.
        assert_eq!(fields(UpdateWebhook::try_from(update(&["*"])).unwrap_err()), ["webhook.url"]);
    }

    #[test]
    fn replays_need_a_cursor() {
        let name = format!("projects/{}/webhooks/{}", ProjectId::generate(), crate::domain::WebhookId::generate());
        let replay =
            |cursor: &str| Replay::try_from(v1::ReplayWebhookRequest { name: name.clone(), cursor: cursor.into() });
        assert_eq!(replay("17").unwrap().after, 17);
        assert_eq!(replay("0").unwrap().after, 0);
        for bad in ["", "-1", "seven"] {
            assert_eq!(fields(replay(bad).unwrap_err()), ["cursor"], "{bad:?}");
        }
    }
}
