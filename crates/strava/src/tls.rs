//! The one TLS configuration of the process, shared by the Strava client and the AWS SDK
//! (through `stravasync_aws::http`): rustls on the `ring` provider, Mozilla's root
//! certificates compiled in (`webpki-roots`).
//!
//! Why not the system certificate store: parsing it costs milliseconds at every cold
//! start, and each HTTP stack (the SDK's and reqwest's) parsed it again. The compiled-in
//! roots cost nothing to load and do not depend on the Lambda image; a rebuild picks up
//! new ones. Why `ring`: it is a fraction of `aws-lc-rs`'s size and offers the same
//! TLS 1.2/1.3 suites the SDK allows.

use std::sync::{Arc, LazyLock};

static CONFIG: LazyLock<rustls::ClientConfig> = LazyLock::new(|| {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
});

/// A reqwest client builder on [`client_config`]. Every reqwest client of the workspace
/// starts here: reqwest is built without a default crypto provider (`rustls-no-provider`),
/// so a client built otherwise has no TLS and fails to build.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().use_preconfigured_tls(client_config())
}

/// The process-wide TLS client configuration (built on first use; clones share its
/// verifier and roots).
pub fn client_config() -> rustls::ClientConfig {
    CONFIG.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_config_trusts_the_public_roots_and_offers_tls13() {
        let config = client_config();
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
        assert!(config.crypto_provider().cipher_suites.iter().any(|s| s.version() == &rustls::version::TLS13));
        assert!(config.crypto_provider().cipher_suites.iter().any(|s| s.version() == &rustls::version::TLS12));
        // Clones share one verifier: the roots are parsed once per process.
        let again = client_config();
        assert!(Arc::ptr_eq(&config.crypto_provider().clone(), &again.crypto_provider().clone()));
    }
}
