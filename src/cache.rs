//! The last inventory on disk, so the console shows the fleet at once and refreshes behind it.
//!
//! One JSON file per (endpoint, profiles, regions) under `$XDG_CACHE_HOME/fleetdeck/`, readable by
//! its owner only (instance names, IPs and tags are not for other users of the machine). A cache
//! that cannot be read or parsed is ignored: it is only ever a head start.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::Instance;
use crate::private_fs;

/// Bumped when the file's shape changes; other versions are ignored.
const FORMAT_VERSION: u32 = 1;

/// What an inventory was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// `None`: AWS's own endpoints.
    pub endpoint: Option<String>,
    pub profiles: Vec<String>,
    pub regions: Vec<String>,
}

impl CacheKey {
    /// Order and duplicates of profiles and regions do not make another fleet.
    pub fn new(endpoint: Option<String>, profiles: &[String], regions: &[String]) -> CacheKey {
        let mut profiles = profiles.to_vec();
        profiles.sort();
        profiles.dedup();
        let mut regions = regions.to_vec();
        regions.sort();
        regions.dedup();
        CacheKey {
            endpoint,
            profiles,
            regions,
        }
    }

    fn file_name(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(self.endpoint.as_deref().unwrap_or("aws"));
        hash.update([0]);
        for p in &self.profiles {
            hash.update(p);
            hash.update([1]);
        }
        hash.update([0]);
        for r in &self.regions {
            hash.update(r);
            hash.update([1]);
        }
        let digest = hex::encode(hash.finalize());
        format!("inventory-{}.json", &digest[..16])
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedInventory {
    pub version: u32,
    pub key: CacheKey,
    pub fetched_at: DateTime<Utc>,
    pub instances: Vec<Instance>,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot write the inventory cache {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the inventory cache: {0}")]
    Encode(#[from] serde_json::Error),
}

/// A cache directory; `Cache::default_location()` is the user's.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn at(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// `$XDG_CACHE_HOME/fleetdeck` (or the platform's cache directory).
    pub fn default_location() -> Option<Cache> {
        dirs::cache_dir().map(|d| Cache::at(d.join("fleetdeck")))
    }

    pub fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(key.file_name())
    }

    /// The cached inventory for `key`, or `None` when there is none or it cannot be used
    /// (corrupt, another format version, another key that hashed alike).
    pub fn load(&self, key: &CacheKey) -> Option<CachedInventory> {
        let path = self.path(key);
        let bytes = std::fs::read(&path).ok()?;
        match serde_json::from_slice::<CachedInventory>(&bytes) {
            Ok(c) if c.version == FORMAT_VERSION && c.key == *key => Some(c),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring a corrupt inventory cache");
                None
            }
        }
    }

    /// Writes atomically (temporary file then rename), mode 0600.
    pub fn store(
        &self,
        key: &CacheKey,
        fetched_at: DateTime<Utc>,
        instances: &[Instance],
    ) -> Result<PathBuf, CacheError> {
        let path = self.path(key);
        let write_err = |source| CacheError::Write {
            path: path.clone(),
            source,
        };
        private_fs::create_dir(&self.dir).map_err(write_err)?;
        let body = serde_json::to_vec(&CachedInventory {
            version: FORMAT_VERSION,
            key: key.clone(),
            fetched_at,
            instances: instances.to_vec(),
        })?;
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        let mut file = private_fs::open(
            &tmp,
            OpenOptions::new().write(true).create(true).truncate(true),
        )
        .map_err(write_err)?;
        file.write_all(&body)
            .and_then(|()| file.sync_all())
            .map_err(write_err)?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            write_err(e)
        })?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InstanceState, PingStatus, PlatformType};

    fn instance(id: &str) -> Instance {
        Instance {
            instance_id: id.into(),
            name: Some(format!("web-{id}")),
            profile: "default".into(),
            region: "us-east-1".into(),
            state: InstanceState::Running,
            ping_status: PingStatus::ConnectionLost,
            last_ping: DateTime::from_timestamp(1_700_000_000, 0),
            agent_version: Some("3.3.987.0".into()),
            agent_is_latest: Some(false),
            platform_type: PlatformType::Linux,
            platform: "Ubuntu 22.04".into(),
            private_ip: Some("10.0.0.1".into()),
            public_ip: None,
            instance_type: None,
            availability_zone: None,
            iam_instance_profile: None,
            computer_name: None,
            launch_time: None,
            tags: [("Env".to_string(), "prod".to_string())].into(),
            managed: true,
        }
    }

    fn key() -> CacheKey {
        CacheKey::new(
            Some("http://127.0.0.1:1".into()),
            &["b".into(), "a".into()],
            &["us-east-1".into()],
        )
    }

    #[test]
    fn round_trip_keeps_every_field() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::at(dir.path().join("fleetdeck"));
        let at = DateTime::from_timestamp(1_700_000_100, 0).expect("valid time");
        let fleet = vec![instance("i-1"), instance("i-2")];
        cache.store(&key(), at, &fleet).expect("stored");
        let back = cache.load(&key()).expect("loaded");
        assert_eq!(back.instances, fleet);
        assert_eq!(back.fetched_at, at);
        // Same fleet whatever order the profiles were given in.
        let same = CacheKey::new(
            Some("http://127.0.0.1:1".into()),
            &["a".into(), "b".into(), "a".into()],
            &["us-east-1".into()],
        );
        assert!(cache.load(&same).is_some());
        // Another endpoint is another fleet.
        let other = CacheKey::new(None, &["a".into(), "b".into()], &["us-east-1".into()]);
        assert!(cache.load(&other).is_none());
    }

    #[cfg(unix)]
    #[test]
    fn file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::at(dir.path().join("fleetdeck"));
        let path = cache
            .store(&key(), Utc::now(), &[instance("i-1")])
            .expect("stored");
        let mode = |p: &std::path::Path| {
            std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
        };
        assert_eq!(mode(&path), 0o600);
        assert_eq!(
            mode(&dir.path().join("fleetdeck")),
            0o700,
            "the cache directory"
        );
    }

    #[test]
    fn corrupt_cache_is_ignored_and_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::at(dir.path());
        std::fs::write(cache.path(&key()), b"{\"version\":1,\"key\":").expect("write");
        assert!(cache.load(&key()).is_none());
        std::fs::write(cache.path(&key()), b"\xff\xfe not json").expect("write");
        assert!(cache.load(&key()).is_none());
        cache
            .store(&key(), Utc::now(), &[instance("i-9")])
            .expect("a corrupt file is overwritten");
        assert_eq!(
            cache.load(&key()).expect("loaded").instances[0].instance_id,
            "i-9"
        );
    }

    #[test]
    fn other_format_version_is_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::at(dir.path());
        let body = serde_json::json!({
            "version": 999, "key": key(), "fetched_at": Utc::now(), "instances": []
        });
        std::fs::write(cache.path(&key()), body.to_string()).expect("write");
        assert!(cache.load(&key()).is_none());
    }
}
