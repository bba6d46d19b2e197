//! `login`, `logout`, `whoami`.

use std::io::{BufRead, IsTerminal, Read};

use anyhow::Context;
use tasktracker_proto::v1;
use tonic::transport::Channel;

use crate::{
    api::{self, Api, Session},
    args::{GlobalArgs, LoginArgs},
    config::{Config, Credentials},
    error::CliError,
    output::Output,
};

/// Checks the credentials with the server, then saves them with the server URL.
pub async fn login(global: &GlobalArgs, args: LoginArgs, out: &Output) -> Result<(), CliError> {
    let mut config = Config::load()?;
    let server = api::server_url(global, &config)?;
    let channel = api::connect(&server).await?;
    let credentials = match args.email {
        Some(email) => sign_in(&channel, email, args.code).await?,
        None => Credentials::ApiToken { token: api_token(args.token)? },
    };
    let user = Api::with_token(channel, credentials.bearer_token())?
        .accounts()
        .get_current_user(v1::GetCurrentUserRequest {})
        .await?
        .into_inner();
    config.server = Some(server.clone());
    config.credentials = Some(credentials);
    let path = config.save()?;
    out.note(&format!(
        "Signed in to {server} as {} <{}>; credentials saved in {}",
        user.display_name,
        user.email,
        path.display()
    ));
    Ok(())
}

/// `--token`, else standard input when it is not a terminal, else a prompt.
fn api_token(token: Option<String>) -> Result<String, CliError> {
    let token = match token {
        Some(token) => token,
        None if std::io::stdin().is_terminal() => rpassword::prompt_password("API token: ")?,
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text
        }
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(CliError::Usage("no API token given (--token, standard input, or --email to sign in)".into()));
    }
    Ok(token.to_owned())
}

/// The password: `TASKTRACKER_PASSWORD`, else a prompt, else the first line of
/// standard input.
fn password(email: &str) -> Result<String, CliError> {
    if let Some(password) = std::env::var("TASKTRACKER_PASSWORD").ok().filter(|password| !password.is_empty()) {
        return Ok(password);
    }
    if std::io::stdin().is_terminal() {
        return Ok(rpassword::prompt_password(format!("Password for {email}: "))?);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(CliError::Usage("no password: set TASKTRACKER_PASSWORD, or run in a terminal".into()));
    }
    Ok(password.to_owned())
}

async fn sign_in(channel: &Channel, email: String, code: Option<String>) -> Result<Credentials, CliError> {
    let password = password(&email)?;
    let mut accounts = Api::anonymous(channel.clone()).accounts();
    let mut response = accounts.sign_in(v1::SignInRequest { email, password }).await?.into_inner();
    if !response.second_factor_challenge.is_empty() {
        let code = match code {
            Some(code) => code,
            None if std::io::stdin().is_terminal() => {
                eprint!("Code from your authenticator app (or a recovery code): ");
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                line.trim().to_owned()
            }
            None => {
                return Err(CliError::Usage(
                    "this account has two-factor authentication: pass --code with a current code".into(),
                ));
            }
        };
        response = accounts
            .verify_second_factor(v1::VerifySecondFactorRequest { challenge: response.second_factor_challenge, code })
            .await?
            .into_inner();
    }
    let session = response.session.context("the server sent no session")?;
    Ok(Credentials::from_session(session)?)
}

/// Ends the session on the server (a session's, not an API token's) and
/// forgets the credentials.
pub async fn logout(global: &GlobalArgs, out: &Output) -> Result<(), CliError> {
    let mut config = Config::load()?;
    let Some(credentials) = config.credentials.take() else {
        out.note("Not signed in.");
        return Ok(());
    };
    let server = config.server.clone().unwrap_or_default();
    match credentials {
        Credentials::Session { .. } => {
            // Best effort: the credentials are forgotten even if the server
            // cannot be reached (the session then lapses by itself).
            let global = GlobalArgs { server: Some(server.clone()), output: global.output };
            let signed_out = match Session::open(&global).await {
                Ok(session) => session.api.accounts().sign_out(v1::SignOutRequest {}).await.map_err(CliError::from),
                Err(error) => Err(error),
            };
            if let Err(error) = signed_out {
                out.note(&format!("warning: could not end the session on the server: {}", error.message()));
            }
            out.note(&format!("Signed out of {server}."));
        }
        Credentials::ApiToken { .. } => {
            out.note(&format!("Forgot the API token for {server} (revoke it in the web app to stop it working)."));
        }
    }
    config.save()?;
    Ok(())
}

pub async fn whoami(global: &GlobalArgs, out: &Output) -> Result<(), CliError> {
    let session = Session::open(global).await?;
    let user = session.api.accounts().get_current_user(v1::GetCurrentUserRequest {}).await?.into_inner();
    out.user(&user, &session.server);
    Ok(())
}
