//! Which (profile, region) pairs a command reads: flags, then config.toml, then the SDK's defaults.

use crate::aws::Target;
use crate::config::Config;

use super::{Cli, Failure};

/// Rejects what cannot be a region name before any request is made (a typo would otherwise
/// surface as a DNS failure for a host nobody recognises).
pub fn check_region_name(region: &str) -> Result<(), Failure> {
    let parts: Vec<&str> = region.split('-').collect();
    let well_formed = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if well_formed {
        Ok(())
    } else {
        Err(Failure::Usage(format!(
            "'{region}' is not a region name: use a name like us-east-1 or eu-west-1"
        )))
    }
}

pub async fn resolve(cli: &Cli, config: &Config) -> Result<Vec<Target>, Failure> {
    let profiles: Vec<Option<String>> = match (&cli.profile[..], &config.profiles[..]) {
        ([], []) => vec![None],
        ([], from_config) => from_config.iter().cloned().map(Some).collect(),
        (from_flags, _) => from_flags.iter().cloned().map(Some).collect(),
    };
    let explicit_regions = if cli.region.is_empty() {
        &config.regions
    } else {
        &cli.region
    };
    for region in explicit_regions {
        check_region_name(region)?;
    }
    let mut targets = Vec::new();
    for profile in profiles {
        let regions = if explicit_regions.is_empty() {
            vec![default_region(profile.as_deref()).await?]
        } else {
            explicit_regions.clone()
        };
        for region in regions {
            let target = Target {
                profile: profile.clone(),
                region,
            };
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
    }
    Ok(targets)
}

async fn default_region(profile: Option<&str>) -> Result<String, Failure> {
    let mut chain = aws_config::default_provider::region::DefaultRegionChain::builder();
    if let Some(p) = profile {
        chain = chain.profile_name(p);
    }
    match chain.build().region().await {
        Some(region) => Ok(region.to_string()),
        None => Err(Failure::Other(format!(
            "no region is set for profile '{}': pass --region, set AWS_REGION, or add regions = [\"us-east-1\"] to config.toml",
            profile.unwrap_or("default")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        for ok in ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"] {
            assert!(check_region_name(ok).is_ok(), "{ok}");
        }
        for bad in ["us-east", "useast1", "US-EAST-1", "us-east-1a", "", "eu--1"] {
            assert!(check_region_name(bad).is_err(), "{bad}");
        }
    }
}
