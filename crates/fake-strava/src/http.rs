//! The fake's own outgoing calls (webhook pushes, subscription challenges): plain HTTP to
//! local handlers.

/// A reqwest client builder for the fake's own calls (webhook pushes and subscription
/// checks, plain HTTP to local handlers): the workspace builds reqwest without a default
/// crypto provider, so the fake names one (`ring`) and trusts no roots.
pub(crate) fn client_builder() -> reqwest::ClientBuilder {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    match rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
        Ok(config) => reqwest::Client::builder()
            .use_preconfigured_tls(config.with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth()),
        Err(_) => reqwest::Client::builder(),
    }
}
