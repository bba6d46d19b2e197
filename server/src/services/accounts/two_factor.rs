//! Two-factor authentication: enrolling an authenticator app (TOTP),
//! recovery codes, and the sign-in's second step.
//!
//! Every check of a code the caller could guess goes through the sign-in
//! limiter under the account's email, so wrong codes and wrong passwords
//! share one budget (`auth::rate_limit`). Secrets and codes are never
//! logged: the log lines name the user only.

use std::net::IpAddr;

use tasktracker_proto::v1;

use super::{Accounts, Client, user_to_proto};
use crate::{
    auth::{
        tokens,
        totp::{self, RECOVERY_CODE_COUNT, SecondFactor},
    },
    domain::{FieldViolation, UserId, time},
    error::{ServiceError, ServiceResult},
    metrics::SignInResult,
    storage::{entities::users, two_factor::TwoFactorStoreError},
};

impl From<TwoFactorStoreError> for ServiceError {
    fn from(error: TwoFactorStoreError) -> Self {
        match error {
            TwoFactorStoreError::AlreadyEnabled => Self::FailedPrecondition(
                "two-factor authentication is already on; turn it off first to enrol another app".into(),
            ),
            TwoFactorStoreError::Database(error) => error.into(),
        }
    }
}

const THROTTLED: ServiceError =
    ServiceError::ResourceExhausted("too many sign-in attempts; wait a minute and try again");
const WRONG_CODE: ServiceError = ServiceError::Unauthenticated("wrong or already used code");

/// A wrong code where the caller is signed in: INVALID_ARGUMENT, not
/// UNAUTHENTICATED, which would say their credentials are bad.
fn wrong_code() -> ServiceError {
    FieldViolation::new("code", "is wrong or was already used").into()
}

/// New recovery codes: as shown, and as stored.
fn recovery_codes() -> (Vec<String>, Vec<String>) {
    let shown = totp::new_recovery_codes(RECOVERY_CODE_COUNT);
    let digests = shown.iter().map(|code| totp::recovery_code_digest(code)).collect();
    (shown, digests)
}

impl Accounts {
    /// The signed-in user's row.
    async fn current_user(&self, user: UserId) -> ServiceResult<users::Model> {
        self.shared.accounts.user(user).await?.ok_or(ServiceError::Unauthenticated("the account no longer exists"))
    }

    /// Whether `factor` is a good second factor for `user` now, spending it
    /// if so: a TOTP code of a step later than any accepted before, or an
    /// unused recovery code. Counted by the limiter under `email` either way;
    /// fails only when throttled (or on a database error).
    async fn check_second_factor(
        &self,
        user: UserId,
        email: &str,
        factor: &SecondFactor,
        peer: Option<IpAddr>,
    ) -> ServiceResult<bool> {
        let limiter = &self.shared.sign_in_limiter;
        if !limiter.attempt(email, peer) {
            tracing::warn!(?peer, %user, "second factor throttled");
            self.shared.metrics.sign_in(SignInResult::RateLimited);
            return Err(THROTTLED);
        }
        let accepted = match factor {
            SecondFactor::Totp(code) => match self.shared.two_factor.credential(user).await? {
                Some(credential) if credential.confirm_time.is_some() => {
                    match totp::matching_step(&credential.secret, code, totp::unix_now())? {
                        Some(step) => self.shared.two_factor.accept_step(user, step).await?,
                        None => false,
                    }
                }
                _ => false,
            },
            SecondFactor::Recovery(code) => {
                self.shared.two_factor.use_recovery_code(user, &tokens::digest(code), time::now()).await?
            }
        };
        if !accepted {
            limiter.failed(email, peer);
            tracing::info!(?peer, %user, "second factor refused");
            self.shared.metrics.sign_in(SignInResult::Failure);
            return Ok(false);
        }
        if matches!(factor, SecondFactor::Recovery(_)) {
            tracing::info!(%user, "recovery code used");
        }
        Ok(true)
    }

    /// SignIn's answer for a user with two-factor authentication: a
    /// challenge instead of a session. The password's success does not
    /// clear the limiter's failures (only the second factor's does), or
    /// whoever knows the password could guess codes without end.
    pub(super) fn second_factor_challenge(&self, user: &users::Model) -> ServiceResult<v1::SignInResponse> {
        let (challenge, expires) =
            self.shared.signer.issue_challenge(UserId::from_stored(&user.id)).map_err(ServiceError::Internal)?;
        tracing::info!(user = %user.id, "password accepted; second factor asked for");
        Ok(v1::SignInResponse {
            user: None,
            session: None,
            second_factor_challenge: challenge,
            second_factor_challenge_expire_time: Some(time::to_timestamp(expires)),
        })
    }

    /// `VerifySecondFactor`.
    pub(super) async fn complete_sign_in(
        &self,
        request: v1::VerifySecondFactorRequest,
        client: Client,
        peer: Option<IpAddr>,
    ) -> ServiceResult<v1::SignInResponse> {
        const EXPIRED: ServiceError =
            ServiceError::Unauthenticated("the sign-in challenge is invalid or expired; sign in again");
        let mut violations = crate::domain::Violations::default();
        if request.challenge.is_empty() {
            violations.add("challenge", "is required: SignInResponse.second_factor_challenge");
        }
        let factor = violations.check(SecondFactor::parse("code", &request.code));
        violations.finish()?;
        let Some(factor) = factor else { unreachable!("violations.finish() returned early") };
        let user = self.shared.signer.verify_challenge(&request.challenge).ok_or(EXPIRED)?;
        let user = self.shared.accounts.user(user).await?.ok_or(EXPIRED)?;
        let id = UserId::from_stored(&user.id);
        if !self.check_second_factor(id, &user.email, &factor, peer).await? {
            return Err(WRONG_CODE);
        }
        self.shared.sign_in_limiter.succeeded(&user.email, peer);
        let session = self.open_session(id, client).await?;
        tracing::info!(user = %user.id, "signed in with a second factor");
        self.shared.metrics.sign_in(SignInResult::Success);
        let mut user = user_to_proto(user);
        user.two_factor_enabled = true;
        Ok(v1::SignInResponse { user: Some(user), session: Some(session), ..Default::default() })
    }

    /// `BeginTotpEnrollment`.
    pub(super) async fn begin_enrollment(&self, user: UserId) -> ServiceResult<v1::BeginTotpEnrollmentResponse> {
        let account = self.current_user(user).await?;
        let secret = totp::new_secret();
        let otpauth_uri = totp::otpauth_uri(&secret, &account.email)?;
        let qr_code_svg = totp::qr_svg(&otpauth_uri)?;
        self.shared.two_factor.begin(user, secret.clone(), time::now()).await?;
        tracing::info!(%user, "TOTP enrolment begun");
        Ok(v1::BeginTotpEnrollmentResponse { secret, otpauth_uri, qr_code_svg })
    }

    /// `ConfirmTotpEnrollment`.
    pub(super) async fn confirm_enrollment(
        &self,
        user: UserId,
        request: v1::ConfirmTotpEnrollmentRequest,
    ) -> ServiceResult<v1::ConfirmTotpEnrollmentResponse> {
        let code = SecondFactor::parse_totp("code", &request.code)?;
        let credential = match self.shared.two_factor.credential(user).await? {
            None => {
                return Err(ServiceError::FailedPrecondition(
                    "no enrolment is under way; call BeginTotpEnrollment first".into(),
                ));
            }
            Some(credential) if credential.confirm_time.is_some() => {
                return Err(TwoFactorStoreError::AlreadyEnabled.into());
            }
            Some(credential) => credential,
        };
        let Some(step) = totp::matching_step(&credential.secret, &code, totp::unix_now())? else {
            return Err(FieldViolation::new(
                "code",
                "does not match the app's current code: scan the latest QR code, and check the device's clock",
            )
            .into());
        };
        let (shown, digests) = recovery_codes();
        let confirmed = self.shared.two_factor.confirm(user, &credential.secret, step, digests, time::now()).await?;
        if !confirmed {
            return Err(ServiceError::Aborted(
                "the enrolment changed meanwhile (begun again, or confirmed elsewhere); read the QR code again".into(),
            ));
        }
        tracing::info!(%user, "two-factor authentication turned on");
        Ok(v1::ConfirmTotpEnrollmentResponse { recovery_codes: shown })
    }

    /// `DisableTotp`.
    pub(super) async fn turn_off_totp(
        &self,
        user: UserId,
        request: v1::DisableTotpRequest,
        peer: Option<IpAddr>,
    ) -> ServiceResult<v1::DisableTotpResponse> {
        let account = self.current_user(user).await?;
        let confirmed = self.shared.two_factor.enabled(user).await?;
        if !request.code.is_empty() {
            let factor = SecondFactor::parse("code", &request.code)?;
            if !confirmed {
                return Err(ServiceError::FailedPrecondition(
                    "two-factor authentication is not on; give the password to cancel an enrolment".into(),
                ));
            }
            if !self.check_second_factor(user, &account.email, &factor, peer).await? {
                return Err(wrong_code());
            }
        } else if !request.password.is_empty() {
            let limiter = &self.shared.sign_in_limiter;
            if !limiter.attempt(&account.email, peer) {
                return Err(THROTTLED);
            }
            let verified = self
                .shared
                .hasher
                .verify(request.password, Some(account.password_hash.clone()))
                .await
                .map_err(ServiceError::Internal)?;
            if !verified {
                limiter.failed(&account.email, peer);
                return Err(FieldViolation::new("password", "is wrong").into());
            }
        } else {
            return Err(ServiceError::InvalidArgument(vec![
                FieldViolation::new("code", "give a current code or a recovery code, or the password"),
                FieldViolation::new("password", "give the password, or a code"),
            ]));
        }
        self.shared.two_factor.disable(user).await?;
        tracing::info!(%user, "two-factor authentication turned off");
        Ok(v1::DisableTotpResponse {})
    }

    /// `RegenerateRecoveryCodes`.
    pub(super) async fn replace_recovery_codes(
        &self,
        user: UserId,
        request: v1::RegenerateRecoveryCodesRequest,
        peer: Option<IpAddr>,
    ) -> ServiceResult<v1::RegenerateRecoveryCodesResponse> {
        let code = SecondFactor::parse_totp("code", &request.code)?;
        if !self.shared.two_factor.enabled(user).await? {
            return Err(ServiceError::FailedPrecondition("two-factor authentication is not on".into()));
        }
        let account = self.current_user(user).await?;
        if !self.check_second_factor(user, &account.email, &SecondFactor::Totp(code), peer).await? {
            return Err(wrong_code());
        }
        let (shown, digests) = recovery_codes();
        self.shared.two_factor.replace_recovery_codes(user, digests, time::now()).await?;
        tracing::info!(%user, "recovery codes replaced");
        Ok(v1::RegenerateRecoveryCodesResponse { recovery_codes: shown })
    }
}
