use clap::Parser;
use tasktracker_server::{
    config::{Cli, Command},
    startup, telemetry,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut cli = Cli::parse();
    cli.settings.read_oidc_providers()?;
    let _telemetry = telemetry::init(cli.settings.log_format, &cli.settings.trace_export())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => startup::Application::build(cli.settings).await?.run_until_stopped().await,
        Command::Migrate => startup::migrate(&cli.settings).await,
        Command::Healthcheck => startup::healthcheck(&cli.settings).await,
    }
}
