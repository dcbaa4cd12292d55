//! LIST's `nextToken` as the registry carries it between pages: the handler's own token (a
//! service's marker, an offset) sealed with a check of the type it came from. A token this type
//! did not issue — garbage, cut short, altered, another type's — is refused before the handler
//! runs, instead of reaching the service, which may answer it with an error that looks
//! retriable.

use sha2::{Digest, Sha256};

use crate::HandlerError;

/// Between the handler's token and its check; tokens may hold it too, so the last one counts.
const SEPARATOR: char = '~';

/// The registry's `nextToken` for the handler's `token` of `type_name`.
pub(crate) fn sealed(type_name: &str, token: &str) -> String {
    format!("{token}{SEPARATOR}{}", check(type_name, token))
}

/// The handler's token inside a `nextToken` this type issued.
pub(crate) fn opened(type_name: &str, next_token: &str) -> Result<String, HandlerError> {
    next_token
        .rsplit_once(SEPARATOR)
        .filter(|(token, seal)| *seal == check(type_name, token))
        .map(|(token, _)| token.to_owned())
        .ok_or_else(|| {
            HandlerError::invalid_request(
                "nextToken: not a token this type issued (cut short, altered, or another type's); start the LIST again without it",
            )
        })
}

fn check(type_name: &str, token: &str) -> String {
    let digest = Sha256::new().chain_update(type_name).chain_update([0]).chain_update(token).finalize();
    digest.iter().take(8).map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPE: &str = "Rpdk::SSM::Setting";

    #[test]
    fn a_sealed_token_opens_to_the_handlers_own() {
        for token in ["AAEAAQ==", "2/abc~def", ""] {
            assert_eq!(opened(TYPE, &sealed(TYPE, token)).expect("issued here"), token);
        }
    }

    #[test]
    fn garbage_a_cut_token_and_another_types_are_refused() {
        let issued = sealed(TYPE, "marker-1");
        for token in ["garbage", &issued[..issued.len() - 1], &issued.replace("marker-1", "marker-2")] {
            let refusal = opened(TYPE, token).expect_err("refused");
            assert!(refusal.message().starts_with("nextToken: not a token this type issued"), "{refusal:?}");
        }
        assert!(opened("Rpdk::SCIM::User", &issued).is_err());
    }
}
