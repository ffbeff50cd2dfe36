//! `funnel aws-profile`: writes a profile for the aws CLI and the AWS SDKs
//! (`[profile funnel]` in `~/.aws/config` with `endpoint_url` and `region`,
//! `[funnel]` in `~/.aws/credentials` with the key funnel's CLI uses), so
//! `aws --profile funnel lambda list-functions` talks to funnel.
//! Other sections of both files are kept as they are.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

#[derive(Debug, Args)]
pub struct AwsProfileArgs {
    /// The profile's name.
    #[arg(long, default_value = "funnel")]
    pub name: String,
    /// The AWS endpoint (`funnel up` prints it; `--aws-listen`).
    #[arg(long, default_value = "http://127.0.0.1:7880")]
    pub endpoint_url: String,
    /// The region the profile signs for (funnel's ARNs say `local`).
    #[arg(long, default_value = "local")]
    pub region: String,
    /// Default `$AWS_CONFIG_FILE`, else `~/.aws/config`.
    #[arg(long)]
    pub config_file: Option<PathBuf>,
    /// Default `$AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
    #[arg(long)]
    pub credentials_file: Option<PathBuf>,
}

fn aws_file(given: Option<PathBuf>, env: &str, name: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = given.or_else(|| std::env::var_os(env).map(PathBuf::from)) {
        return Ok(path);
    }
    let home = std::env::var_os("HOME").context("HOME is not set: pass the file's path")?;
    Ok(Path::new(&home).join(".aws").join(name))
}

/// `text` with section `[header]` replaced by (or appended as) `body`.
fn with_section(text: &str, header: &str, body: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            skipping = trimmed[1..trimmed.len() - 1].trim() == header;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    out.push_str(&format!("[{header}]\n"));
    for (key, value) in body {
        out.push_str(&format!("{key} = {value}\n"));
    }
    out
}

fn rewrite(path: &Path, header: &str, body: &[(&str, &str)], secret: bool) -> anyhow::Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    std::io::Write::write_all(&mut file, with_section(&text, header, body).as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Writes the profile; returns what it wrote where, for the user.
pub fn write(args: AwsProfileArgs, profile: Option<&str>) -> anyhow::Result<String> {
    let found = funnel_client::Profile::discover(profile).map_err(anyhow::Error::msg)?;
    let credentials = found.credentials.context(
        "no funnel credentials found (FUNNEL_ACCESS_KEY_ID/FUNNEL_SECRET_ACCESS_KEY, \
         ./.funnel/credentials or ~/.funnel/credentials): start `funnel up` here first",
    )?;
    let config = aws_file(args.config_file, "AWS_CONFIG_FILE", "config")?;
    let shared = aws_file(
        args.credentials_file,
        "AWS_SHARED_CREDENTIALS_FILE",
        "credentials",
    )?;
    let section = if args.name == "default" {
        "default".to_string()
    } else {
        format!("profile {}", args.name)
    };
    rewrite(
        &config,
        &section,
        &[
            ("endpoint_url", &args.endpoint_url),
            ("region", &args.region),
        ],
        false,
    )?;
    rewrite(
        &shared,
        &args.name,
        &[
            ("aws_access_key_id", &credentials.access_key_id),
            ("aws_secret_access_key", &credentials.secret_access_key),
        ],
        true,
    )?;
    Ok(format!(
        "wrote [{section}] to {} and [{}] to {}: aws --profile {} sts get-caller-identity",
        config.display(),
        args.name,
        shared.display(),
        args.name
    ))
}

#[cfg(test)]
mod tests {
    use super::with_section;

    #[test]
    fn a_section_is_replaced_and_the_others_kept() {
        let text = "[default]\nregion = eu-west-1\n\n[profile funnel]\nregion = old\nendpoint_url = x\n\n[profile other]\nregion = us-east-1\n";
        let out = with_section(text, "profile funnel", &[("region", "local")]);
        assert_eq!(
            out,
            "[default]\nregion = eu-west-1\n\n[profile other]\nregion = us-east-1\n\n[profile funnel]\nregion = local\n"
        );
        assert_eq!(
            with_section("", "funnel", &[("a", "b")]),
            "[funnel]\na = b\n"
        );
    }
}
