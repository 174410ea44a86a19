//! Opaque page tokens: clients must hand back exactly what they were given.
//!
//! A token names the listing it belongs to (its scope, e.g. operation and region) and the offset of
//! the next item, with a short digest so a token from another listing, or an edited one, is rejected
//! with the service's "invalid token" error instead of silently paging from a wrong place.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

const VERSION: &str = "v1";

fn digest(scope: &str, offset: usize) -> String {
    let mut h = Sha256::new();
    h.update(VERSION.as_bytes());
    h.update([0]);
    h.update(scope.as_bytes());
    h.update([0]);
    h.update(offset.to_string().as_bytes());
    hex::encode(&h.finalize()[..8])
}

pub(crate) fn encode(scope: &str, offset: usize) -> String {
    let raw = format!("{VERSION}:{offset}:{}", digest(scope, offset));
    URL_SAFE_NO_PAD.encode(raw)
}

/// The offset a token stands for, or `None` if it was not issued for this scope.
pub(crate) fn decode(scope: &str, token: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let mut parts = raw.splitn(3, ':');
    let (version, offset, mac) = (parts.next()?, parts.next()?, parts.next()?);
    if version != VERSION {
        return None;
    }
    let offset: usize = offset.parse().ok()?;
    (mac == digest(scope, offset)).then_some(offset)
}

/// One page of `items` starting at `start`, and the token for the rest if anything is left.
pub(crate) fn page<'a, T>(
    items: &'a [T],
    start: usize,
    size: usize,
    scope: &str,
) -> (&'a [T], Option<String>) {
    let start = start.min(items.len());
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| encode(scope, end));
    (&items[start..end], next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_within_scope() {
        let t = encode("ssm:DescribeInstanceInformation:us-east-1", 25);
        assert_eq!(
            decode("ssm:DescribeInstanceInformation:us-east-1", &t),
            Some(25)
        );
    }

    #[test]
    fn rejects_other_scope_garbage_and_edits() {
        let t = encode("a", 5);
        assert_eq!(decode("b", &t), None);
        assert_eq!(decode("a", "not-a-token"), None);
        assert_eq!(decode("a", ""), None);
        let forged = URL_SAFE_NO_PAD.encode(format!("v1:6:{}", digest("a", 5)));
        assert_eq!(decode("a", &forged), None);
    }

    #[test]
    fn pages_cover_every_item_once() {
        let items: Vec<u32> = (0..23).collect();
        let mut seen = Vec::new();
        let mut start = 0;
        loop {
            let (chunk, next) = page(&items, start, 5, "s");
            seen.extend_from_slice(chunk);
            match next {
                Some(t) => start = decode("s", &t).expect("own token decodes"),
                None => break,
            }
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn exact_multiple_has_no_trailing_token() {
        let items = [1, 2, 3, 4];
        let (chunk, next) = page(&items, 0, 4, "s");
        assert_eq!(chunk.len(), 4);
        assert!(next.is_none());
    }
}
