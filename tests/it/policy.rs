//! End-to-end tests of `vpce-audit policy` on the real-shaped bucket policies in
//! testdata/policies/.

use predicates::str::contains;
use serde_json::Value;

use crate::util::vpce;

fn analyse(file: &str) -> (i32, Value) {
    let out = vpce()
        .args([
            "policy",
            "--format",
            "json",
            &format!("testdata/policies/{file}"),
        ])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), json)
}

fn action<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == name)
        .unwrap()
}

fn gap_kinds(r: &Value) -> Vec<&str> {
    r["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["kind"].as_str().unwrap())
        .collect()
}

#[test]
fn an_enforced_policy_exits_0_and_names_its_endpoints() {
    let (code, r) = analyse("enforced.json");
    assert_eq!(code, 0);
    assert_eq!(r["bucket"], "shared-data-prod");
    assert_eq!(r["status"], "enforced");
    assert_eq!(r["gaps"], Value::Array(vec![]));
    let put = action(&r, "s3:PutObject");
    assert_eq!(put["status"], "enforced");
    assert_eq!(
        put["endpoints"],
        serde_json::json!(["vpce-0a1b2c3d4e5f67890", "vpce-0fedcba9876543210"])
    );
    assert_eq!(
        put["statements"],
        serde_json::json!(["DenyOutsideTheEndpoint"])
    );
    assert_eq!(action(&r, "s3:ListBucket")["status"], "enforced");
}

#[test]
fn get_bucket_policy_output_reads_like_the_file() {
    let (code, r) = analyse("get-bucket-policy.json");
    assert_eq!((code, r["status"].as_str()), (0, Some("enforced")));
    // And from standard input, as in `aws s3api get-bucket-policy ... | vpce-audit policy -`.
    let text = std::fs::read_to_string("testdata/policies/get-bucket-policy.json").unwrap();
    vpce()
        .args(["policy", "-"])
        .write_stdin(text)
        .assert()
        .code(0)
        .stdout(contains("denied for every action"))
        .stdout(contains("no gaps found"));
}

#[test]
fn the_blog_post_policy_covers_only_get_object() {
    let (code, r) = analyse("blog-post.json");
    assert_eq!(code, 1);
    assert_eq!(r["status"], "partial");
    let get = action(&r, "s3:GetObject");
    assert_eq!(get["status"], "enforced");
    assert_eq!(
        get["endpoints"],
        serde_json::json!(["vpce-0a1b2c3d4e5f67890"])
    );
    assert_eq!(
        get["statements"],
        serde_json::json!(["Access-to-specific-VPCE-only"])
    );
    assert_eq!(action(&r, "s3:PutObject")["status"], "not-enforced");
    assert_eq!(action(&r, "s3:PutObjectAcl")["status"], "not-enforced");
    let gap = &r["gaps"][0];
    assert_eq!(gap["kind"], "action-not-covered");
    let actions = gap["actions"].as_array().unwrap();
    assert!(actions.contains(&Value::from("s3:PutObject")));
    assert!(!actions.contains(&Value::from("s3:GetObject")));
}

#[test]
fn not_principal_and_extra_conditions_make_a_partial_policy() {
    let (code, r) = analyse("partial.json");
    assert_eq!(code, 1);
    assert_eq!(r["status"], "partial");
    let get = action(&r, "s3:GetObject");
    assert_eq!(get["status"], "partial");
    assert_eq!(get["vpcs"], serde_json::json!(["vpc-0123456789abcdef0"]));
    assert_eq!(gap_kinds(&r), ["action-partial"]);
    let message = r["gaps"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("NotPrincipal exempts arn:aws:iam::999988887777:role/break-glass-admin")
    );
    assert!(message.contains("aws:ViaAWSService"));
}

#[test]
fn a_deny_on_a_key_that_does_not_exist_enforces_nothing() {
    let (code, r) = analyse("not-enforced.json");
    assert_eq!(code, 1);
    assert_eq!(r["status"], "not-enforced");
    assert_eq!(gap_kinds(&r), ["wrong-key", "action-not-covered"]);
    assert_eq!(r["gaps"][0]["statement"], "DenyWithTheWrongKey");
}

#[test]
fn an_allow_with_source_vpce_denies_nothing() {
    let (code, r) = analyse("allow-vpce-only.json");
    assert_eq!(code, 1);
    assert_eq!(r["status"], "not-enforced");
    let allow = r["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["kind"] == "allow-only")
        .unwrap();
    assert_eq!(allow["statement"], "AllowOnlyThroughTheEndpoint");
    assert_eq!(
        allow["actions"],
        serde_json::json!(["s3:GetObject", "s3:PutObject", "s3:ListBucket"])
    );
    vpce()
        .args(["policy", "testdata/policies/allow-vpce-only.json"])
        .assert()
        .code(1)
        .stdout(contains("[allow-only]"))
        .stdout(contains("NOT denied"));
}

#[test]
fn unreadable_policies_exit_2() {
    vpce()
        .args(["policy", "testdata/policies/missing.json"])
        .assert()
        .code(2);
    vpce()
        .args(["policy", "-"])
        .write_stdin("{\"Statement\": [{\"Effect\": \"Deny\"}]}")
        .assert()
        .code(2)
        .stderr(contains("Principal"));
    vpce()
        .args(["policy", "-"])
        .write_stdin("not json")
        .assert()
        .code(2)
        .stderr(contains("not JSON"));
}

#[test]
fn policy_text_is_escaped_in_the_table() {
    let policy = r#"{"Statement": {"Sid": "evil\u001b[2J", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*", "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-\u001b]0;x"}}}}"#;
    let out = vpce()
        .args(["policy", "-"])
        .write_stdin(policy)
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("evil\\x1b[2J"), "{table}");
    assert!(!table.contains('\x1b'));
}

/// `policy --format json` of a policy written to a file in the test.
fn analyse_text(policy: &str) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.json");
    std::fs::write(&path, policy).unwrap();
    let out = vpce()
        .args(["policy", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

#[test]
fn endpoint_account_and_organization_keys_are_known() {
    let (code, r) = analyse_text(
        r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::shared-data-prod", "arn:aws:s3:::shared-data-prod/*"],
            "Condition": {"StringNotEquals": {"aws:VpceAccount": "111122223333",
                                              "AWS:VPCEORGID": "o-a1b2c3d4e5"}}}}"#,
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["status"], "enforced");
    let get = action(&r, "s3:GetObject");
    assert_eq!(get["vpce_accounts"], serde_json::json!(["111122223333"]));
    assert_eq!(get["vpce_orgs"], serde_json::json!(["o-a1b2c3d4e5"]));
}

#[test]
fn any_endpoint_in_any_account_is_not_enforcement() {
    for condition in [
        r#"{"StringNotLike": {"aws:SourceVpce": "vpce-*"}}"#,
        r#"{"StringNotLike": {"aws:SourceVpce": "*"}}"#,
        r#"{"StringNotEquals": {"aws:SourceVpce": []}}"#,
    ] {
        let (code, r) = analyse_text(&format!(
            r#"{{"Statement": {{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Condition": {condition}}}}}"#
        ));
        assert_eq!(
            (code, r["status"].as_str()),
            (1, Some("not-enforced")),
            "{condition}"
        );
        let kinds = gap_kinds(&r);
        assert!(
            kinds.contains(&"any-endpoint") || kinds.contains(&"empty-values"),
            "{condition}: {kinds:?}"
        );
    }
}

#[test]
fn each_bucket_a_policy_names_gets_its_own_verdict() {
    let (_, r) = analyse_text(
        r#"{"Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
             "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}},
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::first/*"},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::second/*",
             "Condition": {"StringNotLike": {"aws:SourceVpce": "*"}}}]}"#,
    );
    let verdicts: Vec<(&str, &str)> = r["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["bucket"].as_str().unwrap(), b["status"].as_str().unwrap()))
        .collect();
    assert_eq!(verdicts, [("first", "enforced"), ("second", "enforced")]);
    assert_eq!(r["bucket"], "first", "the first bucket a Resource names");
}
