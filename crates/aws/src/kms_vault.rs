//! OAuth tokens in the athlete's DynamoDB partition, sealed with a KMS data key
//! (`TokenStore=dynamodb-kms`; docs/design.md §9). App credentials and the session key
//! stay in Secrets Manager (two secrets per stack, not one per athlete).
//!
//! Item `pk = ATH#<athlete>`, `sk = TOKENS`:
//!
//! | attribute | type | content |
//! |---|---|---|
//! | `v` | N | version, +1 on every write (the rotation guard) |
//! | `data_key` | B | the KMS-encrypted AES-256 data key (`GenerateDataKey`, encryption context `athlete_id`) |
//! | `nonce` | B | 12 random bytes |
//! | `sealed` | B | AES-256-GCM of the tokens' JSON, associated data `stravasync/tokens/v1/athlete/<id>` |
//!
//! Every write takes a new data key, so a key and nonce never seal twice. The athlete id
//! is bound twice: KMS will not decrypt a data key under another athlete's context, and
//! the seal does not open under another athlete's associated data, so an item copied to
//! another partition is refused, not read as the other athlete's tokens.
//!
//! Rotation guarantee, as the port asks: [`TokenVault::replace_tokens`] writes only if the
//! stored version is the one the previous pair was read at (a conditional write);
//! [`TokenVault::put_tokens`] (a new authorization) writes whatever is stored. Reads are
//! cached 60 s per athlete, as in Secrets Manager's vault; the `_fresh` reads are strongly
//! consistent reads of the item.
//!
//! No error or log line carries a token: a damaged item is reported by attribute name and
//! problem only.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use stravasync_core::Secret;
use stravasync_core::model::{AppCredentials, AthleteId, OAuthTokens};
use stravasync_core::ports::{TokenVault, VaultError};

use crate::dynamo::TOKENS_SK;
use crate::sdk_error::vault_error as sdk_err;
use crate::secrets::{DEFAULT_CACHE_TTL, SecretsVault, TOKEN_FIELDS, parse_secret};
use crate::ttl_cache::TtlCache;

/// The KMS encryption context's key (its value: the athlete id).
const CONTEXT_KEY: &str = "athlete_id";

type Item = HashMap<String, AttributeValue>;

/// A pair as stored, with the version it was read or written at.
#[derive(Clone)]
struct Stored {
    version: u64,
    tokens: OAuthTokens,
}

pub struct KmsVault {
    dynamo: aws_sdk_dynamodb::Client,
    table: String,
    kms: aws_sdk_kms::Client,
    key_id: String,
    /// App credentials and named secrets.
    secrets: SecretsVault,
    cache: TtlCache<AthleteId, Option<Stored>>,
    rng: SystemRandom,
}

/// The associated data that binds a seal to its athlete.
fn associated_data(athlete: AthleteId) -> String {
    format!("stravasync/tokens/v1/athlete/{athlete}")
}

impl KmsVault {
    /// Tokens in `table`, sealed under data keys of the KMS key `key_id` (id, ARN or
    /// alias); app credentials and named secrets from `secrets`.
    pub fn new(
        dynamo: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        kms: aws_sdk_kms::Client,
        key_id: impl Into<String>,
        secrets: SecretsVault,
    ) -> Self {
        KmsVault {
            dynamo,
            table: table.into(),
            kms,
            key_id: key_id.into(),
            secrets,
            cache: TtlCache::new(DEFAULT_CACHE_TTL),
            rng: SystemRandom::new(),
        }
    }

    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache.set_ttl(ttl);
        self
    }

    /// How errors name an athlete's tokens item (never its content).
    fn item_name(&self, athlete: AthleteId) -> String {
        format!("{} ATH#{athlete}/{TOKENS_SK}", self.table)
    }

    fn key(athlete: AthleteId) -> Item {
        HashMap::from([
            ("pk".to_string(), AttributeValue::S(crate::dynamo::athlete_pk(athlete))),
            ("sk".to_string(), AttributeValue::S(TOKENS_SK.to_string())),
        ])
    }

    fn cached(&self, athlete: AthleteId) -> Option<Option<Stored>> {
        self.cache.get(&athlete)
    }

    fn remember(&self, athlete: AthleteId, value: Option<Stored>) {
        self.cache.put(athlete, value);
    }

    fn forget(&self, athlete: AthleteId) {
        self.cache.remove(&athlete);
    }

    async fn read(&self, athlete: AthleteId, fresh: bool) -> Result<Option<Stored>, VaultError> {
        if !fresh && let Some(hit) = self.cached(athlete) {
            return Ok(hit);
        }
        let out = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(athlete)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        let stored = match out.item {
            Some(item) => Some(self.open(athlete, &item).await?),
            None => None,
        };
        self.remember(athlete, stored.clone());
        Ok(stored)
    }

    /// Decrypts an item: the data key through KMS, then the seal.
    async fn open(&self, athlete: AthleteId, item: &Item) -> Result<Stored, VaultError> {
        let name = self.item_name(athlete);
        let malformed =
            |field: &str, problem| VaultError::Malformed { secret: name.clone(), field: field.to_string(), problem };
        let blob = |field: &str| match item.get(field) {
            Some(AttributeValue::B(b)) => Ok(b.as_ref()),
            Some(_) => Err(malformed(field, "not binary")),
            None => Err(malformed(field, "missing")),
        };
        let version = match item.get("v") {
            Some(AttributeValue::N(n)) => n.parse::<u64>().map_err(|_| malformed("v", "not a version number"))?,
            Some(_) => return Err(malformed("v", "not a number")),
            None => return Err(malformed("v", "missing")),
        };
        let nonce = Nonce::try_assume_unique_for_key(blob("nonce")?).map_err(|_| malformed("nonce", "not 12 bytes"))?;
        let mut sealed = blob("sealed")?.to_vec();
        let decrypted = self
            .kms
            .decrypt()
            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob("data_key")?))
            .key_id(&self.key_id)
            .encryption_context(CONTEXT_KEY, athlete.to_string())
            .send()
            .await;
        let plain_key = match decrypted {
            Ok(out) => out.plaintext.ok_or_else(|| malformed("data_key", "decrypted to nothing"))?,
            Err(SdkError::ServiceError(se))
                if se.err().is_invalid_ciphertext_exception() || se.err().is_incorrect_key_exception() =>
            {
                return Err(malformed("data_key", "not a data key of this athlete under the stack's key"));
            }
            Err(e) => return Err(sdk_err(e)),
        };
        let key = UnboundKey::new(&AES_256_GCM, plain_key.as_ref())
            .map_err(|_| malformed("data_key", "not an AES-256 key"))?;
        let aad = associated_data(athlete);
        let text = LessSafeKey::new(key)
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut sealed)
            .map_err(|_| malformed("sealed", "not sealed for this athlete with its data key"))?;
        let text = std::str::from_utf8(text).map_err(|_| malformed("sealed", "not UTF-8"))?;
        let tokens: OAuthTokens = parse_secret(&name, text, TOKEN_FIELDS)?;
        if tokens.athlete_id != athlete {
            return Err(malformed("athlete_id", "of another athlete"));
        }
        Ok(Stored { version, tokens })
    }

    /// A new data key and the tokens sealed with it: `(data_key, nonce, sealed)`.
    async fn seal(&self, tokens: &OAuthTokens) -> Result<(Vec<u8>, Vec<u8>, Vec<u8>), VaultError> {
        let athlete = tokens.athlete_id;
        let out = self
            .kms
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
            .encryption_context(CONTEXT_KEY, athlete.to_string())
            .send()
            .await
            .map_err(sdk_err)?;
        let rejected = |what: &str| VaultError::Rejected(format!("KMS GenerateDataKey returned no {what}"));
        let plain_key = out.plaintext.ok_or_else(|| rejected("plaintext key"))?;
        let data_key = out.ciphertext_blob.ok_or_else(|| rejected("encrypted key"))?.into_inner();
        let key = UnboundKey::new(&AES_256_GCM, plain_key.as_ref())
            .map_err(|_| VaultError::Rejected("KMS GenerateDataKey returned a key that is not AES-256".into()))?;
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| VaultError::Unavailable("no system randomness".into()))?;
        // `Secret` serializes transparently: the JSON holds the values, and is sealed here.
        let mut sealed = serde_json::to_vec(tokens).map_err(|e| VaultError::Rejected(e.to_string()))?;
        let aad = associated_data(athlete);
        LessSafeKey::new(key)
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad.as_bytes()), &mut sealed)
            .map_err(|_| VaultError::Rejected("sealing the tokens failed".into()))?;
        Ok((data_key, nonce.to_vec(), sealed))
    }

    /// Writes `tokens` as the next version: unconditionally, or only over `expected`.
    /// Returns the version written.
    async fn write(&self, tokens: &OAuthTokens, expected: Option<u64>) -> Result<u64, VaultError> {
        let athlete = tokens.athlete_id;
        let (data_key, nonce, sealed) = self.seal(tokens).await?;
        let mut update = self
            .dynamo
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(athlete)))
            .update_expression("SET #v = if_not_exists(#v, :zero) + :one, data_key = :k, nonce = :n, sealed = :s")
            .expression_attribute_names("#v", "v")
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":k", AttributeValue::B(Blob::new(data_key)))
            .expression_attribute_values(":n", AttributeValue::B(Blob::new(nonce)))
            .expression_attribute_values(":s", AttributeValue::B(Blob::new(sealed)))
            .return_values(ReturnValue::UpdatedNew);
        if let Some(version) = expected {
            update = update
                .condition_expression("#v = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(version.to_string()));
        }
        let written = match update.send().await {
            Ok(out) => out.attributes.and_then(|a| match a.get("v") {
                Some(AttributeValue::N(n)) => n.parse::<u64>().ok(),
                _ => None,
            }),
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                self.forget(athlete);
                return Err(VaultError::Conflict(athlete));
            }
            Err(e) => {
                // The write may or may not have happened: read it again next time.
                self.forget(athlete);
                return Err(sdk_err(e));
            }
        };
        match written {
            Some(version) => {
                self.remember(athlete, Some(Stored { version, tokens: tokens.clone() }));
                Ok(version)
            }
            None => {
                self.forget(athlete);
                Err(VaultError::Rejected("DynamoDB returned no version for the tokens item".into()))
            }
        }
    }

    /// The stored version of the tokens item (for tests and operators), fresh.
    pub async fn stored_version(&self, athlete: AthleteId) -> Result<Option<u64>, VaultError> {
        Ok(self.read(athlete, true).await?.map(|s| s.version))
    }
}

impl TokenVault for KmsVault {
    async fn named_secret(&self, name: &str) -> Result<Option<Secret>, VaultError> {
        self.secrets.named_secret(name).await
    }

    async fn get_tokens(&self, athlete: AthleteId) -> Result<Option<OAuthTokens>, VaultError> {
        Ok(self.read(athlete, false).await?.map(|s| s.tokens))
    }

    async fn get_tokens_fresh(&self, athlete: AthleteId) -> Result<Option<OAuthTokens>, VaultError> {
        Ok(self.read(athlete, true).await?.map(|s| s.tokens))
    }

    async fn put_tokens(&self, tokens: &OAuthTokens) -> Result<(), VaultError> {
        self.write(tokens, None).await.map(|_| ())
    }

    async fn replace_tokens(&self, previous: &OAuthTokens, next: &OAuthTokens) -> Result<(), VaultError> {
        let athlete = previous.athlete_id;
        if next.athlete_id != athlete {
            return Err(VaultError::Rejected("a rotation cannot move tokens to another athlete".into()));
        }
        // The version `previous` was read at: from the cache when it holds that pair, else
        // from the item itself; a stored pair other than `previous` is a conflict already.
        let stored = match self.cached(athlete) {
            Some(Some(s)) if s.tokens == *previous => Some(s),
            _ => self.read(athlete, true).await?,
        };
        match stored {
            Some(s) if s.tokens == *previous => self.write(next, Some(s.version)).await.map(|_| ()),
            _ => Err(VaultError::Conflict(athlete)),
        }
    }

    async fn delete_tokens(&self, athlete: AthleteId) -> Result<(), VaultError> {
        let result = self.dynamo.delete_item().table_name(&self.table).set_key(Some(Self::key(athlete))).send().await;
        match result {
            Ok(_) => {
                self.remember(athlete, None);
                Ok(())
            }
            Err(e) => {
                self.forget(athlete);
                Err(sdk_err(e))
            }
        }
    }

    async fn app_credentials(&self) -> Result<AppCredentials, VaultError> {
        self.secrets.app_credentials().await
    }

    async fn app_credentials_fresh(&self) -> Result<AppCredentials, VaultError> {
        self.secrets.app_credentials_fresh().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_associated_data_names_the_athlete() {
        assert_eq!(associated_data(42), "stravasync/tokens/v1/athlete/42");
        assert_ne!(associated_data(4), associated_data(42));
    }
}
