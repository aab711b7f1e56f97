use std::path::Path;

use cedar_policy::EntityUid;

use super::*;

fn licensing() -> PolicyPack {
    PolicyPack::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("policies").as_path())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn pack(policies: &str) -> Result<PolicyPack, PackError> {
    let schema = r#"
        entity User = { active: Bool };
        entity Doc;
        action read appliesTo { principal: [User], resource: [Doc], context: { now: Long } };
    "#;
    PolicyPack::from_files(
        Path::new("test"),
        vec![
            SourceFile {
                name: SCHEMA_FILE.into(),
                text: schema.into(),
            },
            SourceFile {
                name: "p.cedar".into(),
                text: policies.into(),
            },
        ],
    )
}

#[test]
fn the_licensing_pack_validates_at_level_two() {
    let pack = licensing();
    assert_eq!(pack.level, 2);
    assert!(pack.policies.num_of_policies() >= 20);
    assert_eq!(pack.revision.len(), 16);
}

#[test]
fn every_licensing_policy_has_a_description() {
    let pack = licensing();
    for (id, meta) in &pack.meta {
        assert!(meta.description.is_some(), "`{id}` has no @description");
    }
}

#[test]
fn policies_are_indexed_by_the_actions_they_can_apply_to() {
    let pack = licensing();
    let action: EntityUid = r#"Action::"record_production""#.parse().unwrap();
    let ids: Vec<String> = pack
        .policies_for(&action)
        .unwrap()
        .policies()
        .map(|p| p.id().to_string())
        .collect();
    assert!(
        ids.contains(&"operators.record_production".to_string()),
        "{ids:?}"
    );
    assert!(ids.contains(&"payment.locked".to_string()), "{ids:?}");
    assert!(!ids.contains(&"levels.view".to_string()), "{ids:?}");
}

#[test]
fn groups_are_not_actions_a_request_can_name() {
    let pack = licensing();
    let group: EntityUid = r#"Action::"in_product""#.parse().unwrap();
    assert!(pack.policies_for(&group).is_none());
}

#[test]
fn notice_rules_are_read_from_the_trial_and_payment_policies() {
    let pack = licensing();
    let kinds: Vec<&str> = pack.notices.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(kinds, vec!["payment_overdue", "trial"]);
    assert!(pack.notice("trial").unwrap().templates.get("fr").is_some());
}

#[test]
fn the_ledger_types_are_the_annotated_ones() {
    let pack = licensing();
    let types: Vec<&str> = pack.ledger_types.iter().map(String::as_str).collect();
    assert_eq!(
        types,
        vec![
            "Account",
            "Category",
            "Operator",
            "Subscription",
            "Tenant",
            "User"
        ]
    );
}

#[test]
fn a_policy_without_an_id_is_refused_with_its_line() {
    let err = pack("\n\npermit (principal, action, resource);").unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].line, Some(3));
    assert!(err.problems[0].message.contains("@id"));
}

#[test]
fn duplicate_ids_are_refused() {
    let err = pack(
        r#"@id("a") permit (principal, action, resource); @id("a") forbid (principal, action, resource);"#,
    )
    .unwrap_err();
    assert!(err.problems[0].message.contains("`a` is already used"), "{err}");
}

#[test]
fn every_error_is_reported_with_file_line_and_column() {
    let err = pack(
        "@id(\"a\")\npermit (principal, action, resource) when { principal.nope };\n@id(\"b\")\npermit (principal, action, resource) when { resource.missing };\n",
    )
    .unwrap_err();
    assert_eq!(err.problems.len(), 2, "{err}");
    let shorts: Vec<String> = err.problems.iter().map(Problem::short).collect();
    assert!(shorts[0].starts_with("p.cedar:2:"), "{shorts:?}");
    assert!(shorts[1].starts_with("p.cedar:4:"), "{shorts:?}");
    assert!(err.to_string().contains("p.cedar:2:"), "{err}");
}

#[test]
fn a_parse_error_points_into_its_file() {
    let err =
        pack("@id(\"a\")\npermit (principal, action, resource) when { principal.active ==  };").unwrap_err();
    let p = &err.problems[0];
    assert_eq!(p.file.as_deref(), Some("p.cedar"));
    assert_eq!(p.line, Some(2));
}

#[test]
fn a_notice_policy_needs_two_clauses() {
    let err = pack(
        r#"@id("n") @notice("x") @notice_en("soon") forbid (principal, action, resource) when { context.now > 3 };"#,
    )
    .unwrap_err();
    assert!(err.problems[0].message.contains("two clauses"), "{err}");
}

#[test]
fn the_revision_changes_with_any_file() {
    let a = pack(r#"@id("a") permit (principal, action, resource);"#).unwrap();
    let b = pack(r#"@id("a") permit (principal, action, resource) when { true };"#).unwrap();
    assert_ne!(a.revision, b.revision);
}

#[test]
fn per_request_index_keeps_only_policies_whose_scope_can_match_the_types() {
    let pack = licensing();
    let action: EntityUid = r#"Action::"access_management""#.parse().unwrap();
    let ids = |set: &cedar_policy::PolicySet| {
        let mut v: Vec<String> = set.policies().map(|p| p.id().to_string()).collect();
        v.sort();
        v
    };
    let narrow = ids(pack.policies_for_request(&action, "User", "Tenant").unwrap());
    let wide = ids(pack.policies_for(&action).unwrap());
    assert!(wide.contains(&"operators.inactive".to_string()));
    assert!(!narrow.contains(&"operators.inactive".to_string()), "{narrow:?}");
    assert_eq!(
        narrow,
        vec![
            "management.access",
            "management.inactive_user",
            "management.unlicensed",
            "payment.locked",
            "trial.expired"
        ]
    );
}

fn problems(policies: &str) -> Vec<Problem> {
    match pack(policies) {
        Ok(_) => panic!("the pack was accepted"),
        Err(e) => e.problems,
    }
}

#[test]
fn a_misspelt_annotation_is_an_error_at_its_line_with_a_suggestion() {
    let found = problems(
        "@id(\"a\")\n@message_en(\"No.\")\n@mesage_fr(\"Non.\")\nforbid(principal, action, resource);\n",
    );
    let p = found
        .iter()
        .find(|p| p.message.contains("`@mesage_fr`"))
        .unwrap_or_else(|| panic!("{found:?}"));
    assert!(p.message.contains("did you mean `@message_fr`?"), "{p:?}");
    assert_eq!((p.file.as_deref(), p.line), (Some("p.cedar"), Some(3)), "{p:?}");
}

#[test]
fn a_message_missing_a_language_the_pack_speaks_is_an_error() {
    let found = problems(
        "@id(\"a\")\n@message_en(\"No.\")\n@message_fr(\"Non.\")\nforbid(principal, action, resource) when { context.now > 5 };\n\
         @id(\"b\")\n@message_en(\"Never.\")\nforbid(principal, action, resource) when { context.now > 9 };\n",
    );
    let p = found
        .iter()
        .find(|p| p.message.contains("policy `b` has no message in fr"))
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(p.line, Some(5), "{p:?}");
}

#[test]
fn a_duplicate_id_names_both_lines() {
    let found = problems(
        "@id(\"a\")\npermit(principal, action, resource);\n\n@id(\"a\")\nforbid(principal, action, resource);\n",
    );
    let p = found
        .iter()
        .find(|p| p.message.contains("already used"))
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(p.line, Some(4), "{p:?}");
    assert!(p.message.contains("line 1"), "{p:?}");
}

#[test]
fn a_code_takes_its_message_from_the_catalogue_and_a_code_without_one_is_an_error() {
    let schema = "entity User; entity Doc; action read appliesTo { principal: [User], resource: [Doc] };";
    let files = |policies: &str, catalogue: &str| {
        vec![
            SourceFile {
                name: SCHEMA_FILE.into(),
                text: schema.into(),
            },
            SourceFile {
                name: "p.cedar".into(),
                text: policies.into(),
            },
            SourceFile {
                name: MESSAGES_FILE.into(),
                text: catalogue.into(),
            },
        ]
    };
    let catalogue = "closed:\n  en: Closed.\n  fr: Fermé.\n";
    let pack = PolicyPack::from_files(
        Path::new("t"),
        files(
            "@id(\"a\")\n@code(\"closed\")\nforbid(principal, action, resource);\n",
            catalogue,
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pack.meta["a"].messages.get("fr"), Some("Fermé."));
    let err = PolicyPack::from_files(
        Path::new("t"),
        files(
            "@id(\"a\")\n@code(\"shut\")\nforbid(principal, action, resource);\n",
            catalogue,
        ),
    )
    .map(|_| ())
    .unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|p| p.message.contains("`@code(\"shut\")` but no message")),
        "{err}"
    );
    let err = PolicyPack::from_files(
        Path::new("t"),
        files(
            "@id(\"a\")\npermit(principal, action, resource);\n",
            "closed: [1, 2]\n",
        ),
    )
    .map(|_| ())
    .unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|p| p.file.as_deref() == Some(MESSAGES_FILE)),
        "{err}"
    );
}

#[test]
fn the_licensing_pack_shares_the_no_licence_message_from_its_catalogue() {
    let pack = licensing();
    let ids: Vec<&str> = pack
        .meta
        .values()
        .filter(|m| m.code.as_deref() == Some("no_license"))
        .map(|m| m.id.as_str())
        .collect();
    assert!(ids.len() >= 5, "{ids:?}");
    for id in ids {
        assert_eq!(
            pack.meta[id].messages.get("fr"),
            Some("Vous n'avez pas de licence valide, veuillez en acquérir une."),
            "{id}"
        );
    }
}
