//! The one-shot subcommands of the command line: `migrate` and
//! `healthcheck` (`serve` is [`super::Application`]).

use std::time::Duration;

use super::secrets::database_url;
use crate::{config::Settings, storage};

/// `tasktracker-server migrate`.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let (url, _) = database_url(settings)?;
    storage::migrate(&url).await?;
    tracing::info!("migrations applied");
    Ok(())
}

/// `tasktracker-server healthcheck`: exit status 0 if SERVING.
pub async fn healthcheck(settings: &Settings) -> anyhow::Result<()> {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    let mut address = settings.listen_addr;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2))
        .connect()
        .await?;
    let response = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await?;
    anyhow::ensure!(response.get_ref().status == ServingStatus::Serving as i32, "not serving");
    Ok(())
}
