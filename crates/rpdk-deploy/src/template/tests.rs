use serde_json::json;

use super::*;

fn types() -> BTreeMap<String, TypeInfo> {
    let role = json!({
        "primaryIdentifier": ["/properties/RoleName"],
        "readOnlyProperties": ["/properties/Arn", "/properties/RoleId"],
        "createOnlyProperties": ["/properties/RoleName", "/properties/Path"],
    });
    let user = json!({
        "primaryIdentifier": ["/properties/Connector", "/properties/Id"],
        "readOnlyProperties": ["/properties/Id", "/properties/Meta/Created"],
        "writeOnlyProperties": ["/properties/Password"],
    });
    BTreeMap::from([
        ("Rpdk::IAM::CrossAccountRole".to_owned(), TypeInfo::from_schema(&role)),
        ("Rpdk::SCIM::User".to_owned(), TypeInfo::from_schema(&user)),
    ])
}

fn check(yaml: &str) -> Result<Template, Vec<Problem>> {
    let document = parse_text(yaml).map_err(|p| vec![p])?;
    Template::check(&document, &types())
}

fn refused(yaml: &str) -> Vec<String> {
    check(yaml).expect_err("refused").into_iter().map(|p| p.to_string()).collect()
}

const GOOD: &str = r#"
Parameters:
  Partner:
    Type: String
    AllowedValues: [acme, globex]
  Secret:
    Type: String
    NoEcho: true
Conditions:
  IsAcme: !Equals [!Ref Partner, acme]
  NotAcme: !Not [!Condition IsAcme]
Resources:
  Role:
    Type: Rpdk::IAM::CrossAccountRole
    Properties:
      RoleName: !Sub "${Partner}-${AWS::Region}-${!Literal}"
      ExternalId: !Ref Secret
      Description: !If [IsAcme, !Join ["-", [a, !Ref Partner]], !Ref AWS::NoValue]
  Ada:
    Type: Rpdk::SCIM::User
    DependsOn: Role
    Properties:
      Connector: !Select [0, [!GetAtt Role.Arn, b]]
      UserName: !Sub
        - "${Name}@${Role.RoleId}"
        - Name: ada
Outputs:
  Created:
    Value: !GetAtt Ada.Meta.Created
"#;

#[test]
fn short_forms_become_the_long_form() {
    let document =
        parse_text("A: !GetAtt Role.Meta.Created\nB: !Ref X\nC: !Sub x\nD: !If [c, 1, 2.5]\n").expect("parses");
    assert_eq!(
        document,
        json!({"A": {"Fn::GetAtt": ["Role", "Meta.Created"]}, "B": {"Ref": "X"}, "C": {"Fn::Sub": "x"}, "D": {"Fn::If": ["c", 1, 2.5]}})
    );
    assert_eq!(parse_text(r#"{"A": {"Ref": "X"}}"#).expect("JSON"), json!({"A": {"Ref": "X"}}));
    // The string form of Fn::GetAtt, in JSON and in YAML's long form, splits at the first dot.
    assert_eq!(
        parse_text(r#"{"A": {"Fn::GetAtt": "Role.Meta.Created"}}"#).expect("JSON"),
        json!({"A": {"Fn::GetAtt": ["Role", "Meta.Created"]}})
    );
    assert_eq!(
        parse_text("A:\n  Fn::GetAtt: Role.Arn\n").expect("YAML"),
        json!({"A": {"Fn::GetAtt": ["Role", "Arn"]}})
    );
    let problem = parse_text("A: !Reference X\n").expect_err("unknown tag");
    assert!(problem.to_string().starts_with("template.A: !Reference is not a CloudFormation function"), "{problem}");
}

#[test]
fn a_good_template_passes_with_its_dependencies() {
    let template = check(GOOD).expect("passes");
    assert_eq!(template.creation_order().expect("no cycle"), vec!["Role".to_owned(), "Ada".to_owned()]);
    assert_eq!(template.dependencies("Ada"), BTreeSet::from(["Role".to_owned()]));
    assert!(template.parameters["Secret"].no_echo);
    assert_eq!(template.parameters["Partner"].allowed_values, vec!["acme", "globex"]);
}

#[test]
fn each_class_of_error_is_refused_naming_its_place() {
    let cases = [
        ("Resources:\n  R:\n    Type: AWS::S3::Bucket\n", "Resources.R.Type: no handler here serves AWS::S3::Bucket"),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !GetAZs ''\n",
            "Resources.R.Properties.ExternalId.Fn::GetAZs: Fn::GetAZs is not supported here",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !Ref Missing\n",
            "Resources.R.Properties.ExternalId.Ref: Ref Missing: no parameter",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !GetAtt R2.Arn\n  R2:\n    Type: Rpdk::SCIM::User\n",
            "Fn::GetAtt R2.Arn: Rpdk::SCIM::User has no attribute Arn; it has Id, Meta.Created",
        ),
        (
            "Resources:\n  A:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !GetAtt B.Arn\n  B:\n    Type: Rpdk::IAM::CrossAccountRole\n    DependsOn: A\n",
            "Resources: circular dependency: A → B → A",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: '{{resolve:ssm-secure:/partner/id}}'\n",
            "SSM Secure reference is not supported in: [Rpdk::IAM::CrossAccountRole]",
        ),
        (
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Transform: this section is not supported here",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    DependsOn: [Nope]\n",
            "Resources.R.DependsOn: Nope is not a resource of this template",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      RequireMfa: !Equals [a, b]\n",
            "Fn::Equals belongs in Conditions",
        ),
        (
            "Parameters:\n  P:\n    Type: AWS::EC2::VPC::Id\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Parameters.P: Type AWS::EC2::VPC::Id is not supported here",
        ),
        (
            "Conditions:\n  A: !Condition B\n  B: !Not [!Condition A]\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Conditions: circular condition",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !Sub '${Unclosed'\n",
            "'${' without its closing '}'",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !Join [',', a]\n",
            "Properties.ExternalId.Fn::Join[1]: Fn::Join joins a list of strings, numbers or functions",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !Join [',', [[a]]]\n",
            "Fn::Join joins a list of strings, numbers or functions",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !Select [-1, [a]]\n",
            "Fn::Select[0]: Fn::Select's index is a whole number from 0",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !Select [2, [a, b]]\n",
            "Fn::Select: no value at index 2; the list has 2",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !Select [0, a]\n",
            "Fn::Select[1]: Fn::Select selects from a list",
        ),
        (
            "Parameters:\n  P:\n    Type: String\n    Pattern: x\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Parameters.P.Pattern: not a parameter attribute",
        ),
        (
            "Parameters:\n  P:\n    Type: String\n    MinValue: 1\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Parameters.P.MinValue: applies to Number parameters only",
        ),
        (
            "Parameters:\n  P:\n    Type: String\n    MaxLength: -1\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Parameters.P.MaxLength: must be a whole number from 0",
        ),
        (
            "Parameters:\n  P:\n    Type: String\n    AllowedPattern: '(?=a)'\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Parameters.P.AllowedPattern: not a pattern the engine reads",
        ),
        (
            "Mappings:\n  Regions:\n    us-east-1:\n      Zone: a\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !FindInMap [Zones, !Ref AWS::Region, Zone]\n",
            "Fn::FindInMap: Zones is not a map under Mappings",
        ),
        (
            "Mappings:\n  Regions:\n    us-east-1:\n      Zone: a\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !FindInMap [Regions, eu-west-1, Zone]\n",
            "Fn::FindInMap: Regions has no key eu-west-1; it has us-east-1",
        ),
        (
            "Mappings:\n  Regions:\n    us-east-1:\n      Zone: a\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !FindInMap [Regions, us-east-1, Ami]\n",
            "Fn::FindInMap: Regions.us-east-1 has no key Ami; it has Zone",
        ),
        (
            "Mappings:\n  Regions:\n    us-east-1:\n      Zone: {a: b}\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Mappings.Regions.us-east-1.Zone: a map holds keys, each a map of keys to strings or lists of strings",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !Split ['', abc]\n",
            "Fn::Split takes [delimiter, string] (the delimiter not empty)",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !Base64 [a]\n",
            "Fn::Base64 takes a string",
        ),
        (
            "Resources:\n  R:\n    Type: Custom::Thing\n    Properties:\n      Size: 1\n",
            "Resources.R.Properties.ServiceToken: a custom resource needs the ServiceToken of its function",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    DeletionPolicy: Snapshot\n",
            "Resources.R.DeletionPolicy: Snapshot is for types with snapshots",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    UpdateReplacePolicy: RetainExceptOnCreate\n",
            "Resources.R.UpdateReplacePolicy: must be Delete, Retain, written out",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\nOutputs:\n  O:\n    Value: x\n    Export: shared\n",
            "Outputs.O.Export: an export is {Name: name}",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\nOutputs:\n  O:\n    Value: x\n    Exported: yes\n",
            "Outputs.O.Exported: not an output attribute",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Properties:\n      ExternalId: !ImportValue [a]\n",
            "Fn::ImportValue takes the name of an export",
        ),
        (
            "Resources:\n  my-role:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Resources.my-role: a logical ID holds only letters and digits",
        ),
        (
            "Conditions:\n  C: !Equals [a, b]\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n    Condition: [C]\n",
            "Resources.R.Condition: must be the name of a condition under Conditions",
        ),
        (
            "Parameters:\n  P:\n    Type: String\n    AllowedValues: prod\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Parameters.P.AllowedValues: must be a list of the values allowed",
        ),
        (
            "Parameters:\n  P:\n    Type: CommaDelimitedList\n    Default: [a, b]\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Parameters.P.Default: must be a string or a number",
        ),
        (
            "Parameters:\n  P:\n    Type: String\n    NoEcho: yes\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Parameters.P.NoEcho: must be true or false",
        ),
        (
            "Parameters:\n  P:\n    Type: Number\n    MinValue: NaN\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Parameters.P.MinValue: must be a number",
        ),
        (
            "Parameters:\n  R:\n    Type: String\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Resources.R: a parameter has this name too",
        ),
        (
            "Conditions:\n  C: !Equals [!Ref R, x]\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Conditions.C.Fn::Equals[0].Ref: R is a resource, which cannot be read here",
        ),
        (
            "Conditions:\n  C: !Equals [!ImportValue shared, x]\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n",
            "Conditions.C.Fn::Equals[0].Fn::ImportValue: Fn::ImportValue cannot be used in Conditions",
        ),
        (
            "Resources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\nOutputs:\n  O:\n    Value: x\n    Export:\n      Name: !Sub '${R.Arn}-x'\n",
            "Outputs.O.Export.Name.Fn::Sub: R is a resource, which cannot be read here",
        ),
        (
            "Resources:\n  R:\n    Type: Custom::Thing\n    Properties:\n      ServiceToken: x\n      Token: '{{resolve:secretsmanager:s}}'\n",
            "Resources.R.Properties.Token: {{resolve:secretsmanager:...}}: dynamic references for secure values are not supported in custom resources",
        ),
    ];
    for (template, expected) in cases {
        let problems = refused(template);
        assert!(problems.iter().any(|p| p.contains(expected)), "{template}\nexpected {expected:?} in {problems:?}");
    }
}

#[test]
fn sub_strings_split_into_text_and_variables() {
    assert_eq!(
        sub_parts("arn:${AWS::Partition}:x/${Role.Arn}-${!Kept}").expect("parses"),
        vec![
            SubPart::Text("arn:".into()),
            SubPart::Variable("AWS::Partition".into()),
            SubPart::Text(":x/".into()),
            SubPart::Variable("Role.Arn".into()),
            SubPart::Text("-${Kept}".into()),
        ]
    );
}

#[test]
fn dynamic_references_are_found() {
    assert_eq!(
        dynamic_references("a{{resolve:ssm:/p/name:2}}b{{resolve:secretsmanager:s:SecretString:k}}"),
        vec![
            DynamicReference {
                text: "{{resolve:ssm:/p/name:2}}".into(),
                service: "ssm".into(),
                key: "/p/name:2".into()
            },
            DynamicReference {
                text: "{{resolve:secretsmanager:s:SecretString:k}}".into(),
                service: "secretsmanager".into(),
                key: "s:SecretString:k".into()
            },
        ]
    );
}

#[test]
fn templates_past_cloudformations_limits_are_refused_naming_the_limit() {
    let large = format!("Resources: {{}}\n# {}\n", "x".repeat(MAX_TEMPLATE_BYTES));
    let problem = parse_text(&large).expect_err("too large");
    assert!(problem.message.contains("at most 1048576 bytes (1 MB)"), "{problem}");

    let many = |section: &str, count: usize, entry: &str| -> String {
        let entries: String = (0..count).map(|i| format!("  E{i}: {entry}\n")).collect();
        format!("{section}:\n{entries}")
    };
    let role = "{Type: Rpdk::IAM::CrossAccountRole}";
    let problems = refused(&many("Resources", 501, role));
    assert!(
        problems.iter().any(|p| p == "Resources: 501 entries; CloudFormation takes at most 500 in a template"),
        "{problems:?}"
    );
    check(&many("Resources", 500, role)).expect("500 resources pass");
    let problems = refused(&format!(
        "{}{}",
        many("Parameters", 201, "{Type: String, Default: x}"),
        many("Resources", 1, role).replace("E0", "R0")
    ));
    assert!(problems.iter().any(|p| p.starts_with("Parameters: 201 entries")), "{problems:?}");
    let problems = refused(&format!(
        "{}Outputs:\n{}",
        many("Resources", 1, role),
        (0..201).map(|i| format!("  O{i}: {{Value: x}}\n")).collect::<String>()
    ));
    assert!(problems.iter().any(|p| p.starts_with("Outputs: 201 entries")), "{problems:?}");

    let long = "R".repeat(256);
    let problems = refused(&format!("Resources:\n  {long}: {role}\n"));
    assert!(problems.iter().any(|p| p.contains("a logical ID of 256 characters")), "{problems:?}");
    check(&format!("Resources:\n  {}: {role}\n", "R".repeat(255))).expect("255 characters pass");
}

#[test]
fn deeply_nested_values_are_refused_not_overflowed() {
    let depth = 100_000;
    for text in [
        format!("Resources: {}{}", "[".repeat(depth), "]".repeat(depth)),
        format!("{{\"Resources\": {}{}}}", "[".repeat(depth), "]".repeat(depth)),
    ] {
        let problem = parse_text(&text).expect_err("refused");
        assert_eq!(problem.location, "template", "{problem}");
    }
}
