//! The JSON Schemas of results.json and verdicts.json, generated from the
//! types (feature `schema`, on by default) and checked in under schemas/.
//! Regenerate with `MEMGATE_UPDATE_SCHEMAS=1 cargo test --test cli schema`.

use crate::util::repo_root;

fn check(name: &str, schema: serde_json::Value) {
    let path = repo_root().join("schemas").join(name);
    let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
    if std::env::var_os("MEMGATE_UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        committed,
        text,
        "{} is out of date: regenerate it (see tests/cli/schema.rs)",
        path.display()
    );
}

#[test]
fn schemas_are_up_to_date() {
    check(
        "results.v1.json",
        serde_json::to_value(schemars::schema_for!(memgate::results::Results)).unwrap(),
    );
    check(
        "verdicts.v1.json",
        serde_json::to_value(schemars::schema_for!(memgate::verdicts::Verdicts)).unwrap(),
    );
}
