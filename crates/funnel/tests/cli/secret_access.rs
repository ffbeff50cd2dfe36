//! Secret grants from the command line: `--secret-access db-pass,/app/*`
//! on `function update-config` (comma-separated, as the issue writes it,
//! or space-separated), shown by `function get`; `--secret-access` alone
//! removes them; `function restart-environments` retires the warm ones.

use crate::common::{Up, funnel, ok};

#[test]
fn grants_are_set_shown_and_removed_and_environments_restart() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut up = Up::start(data_dir.path());
    let endpoint = up.endpoint();

    let granted = ok(&funnel(
        &endpoint,
        &[
            "function",
            "update-config",
            "hello",
            "--secret-access",
            "db-pass,/app/*",
            "ssm:token",
        ],
    ));
    assert!(
        granted.contains(r#""SecretAccess":["db-pass","/app/*","ssm:token"]"#),
        "{granted}"
    );
    let shown = ok(&funnel(&endpoint, &["function", "get", "hello"]));
    assert!(
        shown.contains(r#""SecretAccess":["db-pass","/app/*","ssm:token"]"#),
        "{shown}"
    );
    let bad = funnel(
        &endpoint,
        &[
            "function",
            "update-config",
            "hello",
            "--secret-access",
            "a b",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("InvalidParameterValueException"));
    let revoked = ok(&funnel(
        &endpoint,
        &["function", "update-config", "hello", "--secret-access"],
    ));
    assert!(revoked.contains(r#""SecretAccess":[]"#), "{revoked}");

    ok(&funnel(
        &endpoint,
        &["invoke", "hello", "--payload", r#"{"name":"Ada"}"#],
    ));
    let restarted = ok(&funnel(
        &endpoint,
        &["function", "restart-environments", "hello"],
    ));
    assert!(
        restarted.contains(r#""RetiredEnvironments":1"#),
        "{restarted}"
    );
    let missing = funnel(&endpoint, &["function", "restart-environments", "nobody"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("ResourceNotFoundException"));
}
