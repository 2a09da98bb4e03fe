//! A CloudFormation template as Rust values.
//!
//! Resources, parameters and conditions are added to a [`Template`] and come
//! back as typed handles. Intrinsic functions that point at them ([`Expr::Ref`],
//! [`Expr::GetAtt`], `Fn::If`) can only be built from such a handle, and each
//! resource type exposes only the attributes it has (`Handle<Function>::arn`),
//! so a template cannot name a resource it does not hold.
//! [`Template::to_yaml`] checks the rest (handles moved between templates,
//! `${...}` inside `Fn::Sub` strings) before it writes anything.

use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;

use indexmap::IndexMap;
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

/// Problems that make a template unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error(
        "`{from}` refers to `{target}`, which is not a resource, parameter or pseudo parameter of this template"
    )]
    DanglingReference { from: String, target: String },
    #[error("`{from}` uses condition `{condition}`, which this template does not define")]
    UnknownCondition { from: String, condition: String },
    #[error("the logical id `{0}` is used twice")]
    DuplicateLogicalId(String),
    #[error("the logical id `{0}` must be alphanumeric")]
    InvalidLogicalId(String),
    /// Never deploy an empty state machine in place of one that would not
    /// serialize.
    #[error("the state machine `{name}` cannot be written as JSON: {reason}")]
    Definition { name: String, reason: String },
}

/// A CloudFormation value: a literal or an intrinsic function.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Value),
    Ref(String),
    GetAtt(String, String),
    Sub(String, IndexMap<String, Expr>),
    Join(String, Vec<Expr>),
    Select(u32, Box<Expr>),
    Split(String, Box<Expr>),
    If(String, Box<Expr>, Box<Expr>),
    Equals(Box<Expr>, Box<Expr>),
    List(Vec<Expr>),
    Map(IndexMap<String, Expr>),
}

impl Expr {
    /// `Fn::Sub` over pseudo parameters and the template's own logical ids.
    pub fn sub(template: impl Into<String>) -> Expr {
        Expr::Sub(template.into(), IndexMap::new())
    }

    /// `Fn::Sub` with its own variables.
    pub fn sub_with<'a>(
        template: impl Into<String>,
        vars: impl IntoIterator<Item = (&'a str, Expr)>,
    ) -> Expr {
        Expr::Sub(
            template.into(),
            vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        )
    }

    pub fn join(delimiter: impl Into<String>, parts: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::Join(delimiter.into(), parts.into_iter().collect())
    }

    pub fn pseudo(p: Pseudo) -> Expr {
        Expr::Ref(p.as_str().to_owned())
    }

    /// `Fn::If` on a condition of the template.
    pub fn if_(condition: &ConditionHandle, then: Expr, otherwise: Expr) -> Expr {
        Expr::If(condition.0.clone(), Box::new(then), Box::new(otherwise))
    }

    pub fn equals(a: Expr, b: Expr) -> Expr {
        Expr::Equals(Box::new(a), Box::new(b))
    }

    /// `Fn::Select` of `Fn::Split`: the `index`th part of `value` split at `delimiter`.
    pub fn split_select(index: u32, delimiter: &str, value: Expr) -> Expr {
        Expr::Select(
            index,
            Box::new(Expr::Split(delimiter.to_owned(), Box::new(value))),
        )
    }

    fn to_json(&self) -> Value {
        match self {
            Expr::Literal(v) => v.clone(),
            Expr::Ref(id) => json!({ "Ref": id }),
            Expr::GetAtt(id, attr) => json!({ "Fn::GetAtt": [id, attr] }),
            Expr::Sub(s, vars) if vars.is_empty() => json!({ "Fn::Sub": s }),
            Expr::Sub(s, vars) => {
                let vars: serde_json::Map<_, _> =
                    vars.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
                json!({ "Fn::Sub": [s, vars] })
            }
            Expr::Join(d, parts) => {
                json!({ "Fn::Join": [d, parts.iter().map(Expr::to_json).collect::<Vec<_>>()] })
            }
            Expr::Select(i, v) => json!({ "Fn::Select": [i.to_string(), v.to_json()] }),
            Expr::Split(d, v) => json!({ "Fn::Split": [d, v.to_json()] }),
            Expr::If(c, a, b) => json!({ "Fn::If": [c, a.to_json(), b.to_json()] }),
            Expr::Equals(a, b) => json!({ "Fn::Equals": [a.to_json(), b.to_json()] }),
            Expr::List(items) => Value::Array(items.iter().map(Expr::to_json).collect()),
            Expr::Map(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl From<&str> for Expr {
    fn from(s: &str) -> Self {
        Expr::Literal(Value::String(s.to_owned()))
    }
}

impl From<String> for Expr {
    fn from(s: String) -> Self {
        Expr::Literal(Value::String(s))
    }
}

impl From<Value> for Expr {
    fn from(v: Value) -> Self {
        Expr::Literal(v)
    }
}

impl From<Vec<Expr>> for Expr {
    fn from(v: Vec<Expr>) -> Self {
        Expr::List(v)
    }
}

/// CloudFormation's pseudo parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pseudo {
    AccountId,
    NoValue,
    Partition,
    Region,
    StackId,
    StackName,
    UrlSuffix,
}

impl Pseudo {
    pub const ALL: [Pseudo; 7] = [
        Pseudo::AccountId,
        Pseudo::NoValue,
        Pseudo::Partition,
        Pseudo::Region,
        Pseudo::StackId,
        Pseudo::StackName,
        Pseudo::UrlSuffix,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::NoValue => "AWS::NoValue",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::Region => "AWS::Region",
            Pseudo::StackId => "AWS::StackId",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
        }
    }
}

/// A CloudFormation resource type.
pub trait Resource: Serialize {
    /// The `Type` of the resource, e.g. `AWS::S3::Bucket`.
    const TYPE: &'static str;
}

/// A resource in a template. Only [`Template::add`] makes one.
#[derive(Debug)]
pub struct Handle<R> {
    id: String,
    _resource: PhantomData<fn() -> R>,
}

impl<R> Clone for Handle<R> {
    fn clone(&self) -> Self {
        Handle {
            id: self.id.clone(),
            _resource: PhantomData,
        }
    }
}

impl<R> Handle<R> {
    pub fn logical_id(&self) -> &str {
        &self.id
    }

    /// `Ref`: what it returns depends on the resource type (a name, an ARN…).
    pub fn r#ref(&self) -> Expr {
        Expr::Ref(self.id.clone())
    }

    /// `Fn::GetAtt` with an attribute the resource type declares; resource
    /// modules expose these through named methods.
    pub(crate) fn attr(&self, attribute: &str) -> Expr {
        Expr::GetAtt(self.id.clone(), attribute.to_owned())
    }
}

/// A parameter of the template.
#[derive(Debug, Clone)]
pub struct ParameterHandle(String);

impl ParameterHandle {
    pub fn r#ref(&self) -> Expr {
        Expr::Ref(self.0.clone())
    }

    pub fn logical_id(&self) -> &str {
        &self.0
    }
}

/// A condition of the template.
#[derive(Debug, Clone)]
pub struct ConditionHandle(String);

/// A template parameter.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(rename = "Type")]
    pub kind: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
}

impl Parameter {
    pub fn string(description: impl Into<String>) -> Parameter {
        Parameter {
            kind: "String".into(),
            description: description.into(),
            default: None,
            allowed_values: Vec::new(),
            allowed_pattern: None,
            min_length: None,
        }
    }

    pub fn default(mut self, value: impl Into<String>) -> Parameter {
        self.default = Some(value.into());
        self
    }

    pub fn allowed_values<'a>(mut self, values: impl IntoIterator<Item = &'a str>) -> Parameter {
        self.allowed_values = values.into_iter().map(str::to_owned).collect();
        self
    }

    pub fn allowed_pattern(mut self, pattern: impl Into<String>) -> Parameter {
        self.allowed_pattern = Some(pattern.into());
        self
    }

    pub fn min_length(mut self, n: u32) -> Parameter {
        self.min_length = Some(n);
        self
    }
}

/// What CloudFormation does with a resource's data when it leaves the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Policy {
    Delete,
    Retain,
    Snapshot,
}

#[derive(Debug, Clone)]
struct ResourceEntry {
    kind: &'static str,
    properties: Value,
    depends_on: Vec<String>,
    condition: Option<String>,
    deletion_policy: Option<Policy>,
    update_replace_policy: Option<Policy>,
    /// Security checks declined on purpose, with the reason: checkov reads
    /// them from the resource's `Metadata`.
    declined: Vec<(&'static str, &'static str)>,
}

/// A stack output.
#[derive(Debug, Clone)]
struct Output {
    description: String,
    value: Expr,
}

/// A whole template. Everything keeps the order it was added in, so output
/// is deterministic and reads top-down.
#[derive(Debug, Clone, Default)]
pub struct Template {
    description: String,
    parameters: IndexMap<String, Parameter>,
    conditions: IndexMap<String, Expr>,
    resources: IndexMap<String, ResourceEntry>,
    outputs: IndexMap<String, Output>,
    duplicates: Vec<String>,
}

impl Template {
    pub fn new(description: impl Into<String>) -> Template {
        Template {
            description: description.into(),
            ..Template::default()
        }
    }

    fn claim(&mut self, id: &str) {
        let taken = self.parameters.contains_key(id)
            || self.conditions.contains_key(id)
            || self.resources.contains_key(id);
        if taken {
            self.duplicates.push(id.to_owned());
        }
    }

    pub fn parameter(&mut self, id: &str, parameter: Parameter) -> ParameterHandle {
        self.claim(id);
        self.parameters.insert(id.to_owned(), parameter);
        ParameterHandle(id.to_owned())
    }

    pub fn condition(&mut self, id: &str, condition: Expr) -> ConditionHandle {
        self.claim(id);
        self.conditions.insert(id.to_owned(), condition);
        ConditionHandle(id.to_owned())
    }

    pub fn add<R: Resource>(&mut self, id: &str, resource: R) -> Handle<R> {
        self.claim(id);
        // A resource without its properties must never reach a template,
        // and our property structs hold only strings, numbers, maps with
        // string keys and `Expr`s, so a failure here is a bug in this crate.
        let properties = serde_json::to_value(&resource)
            .expect("resource properties serialize to JSON (strings, numbers, maps, Exprs)");
        self.resources.insert(
            id.to_owned(),
            ResourceEntry {
                kind: R::TYPE,
                properties,
                depends_on: Vec::new(),
                condition: None,
                deletion_policy: None,
                update_replace_policy: None,
                declined: Vec::new(),
            },
        );
        Handle {
            id: id.to_owned(),
            _resource: PhantomData,
        }
    }

    /// Adds an explicit `DependsOn`, for orderings CloudFormation cannot see
    /// from references (a bucket whose notification needs the permission first).
    pub fn depends_on<A, B>(&mut self, resource: &Handle<A>, on: &Handle<B>) {
        if let Some(entry) = self.resources.get_mut(&resource.id) {
            entry.depends_on.push(on.id.clone());
        }
    }

    /// What happens to the resource's data when it is deleted or replaced.
    pub fn data_policy<R>(&mut self, resource: &Handle<R>, policy: Policy) {
        if let Some(entry) = self.resources.get_mut(&resource.id) {
            entry.deletion_policy = Some(policy);
            entry.update_replace_policy = Some(policy);
        }
    }

    /// Declines checkov's `check` for the resource, saying why next to it.
    pub fn decline<R>(&mut self, resource: &Handle<R>, check: &'static str, reason: &'static str) {
        if let Some(entry) = self.resources.get_mut(&resource.id) {
            entry.declined.push((check, reason));
        }
    }

    /// Creates the resource only when `condition` holds.
    pub fn only_if<R>(&mut self, resource: &Handle<R>, condition: &ConditionHandle) {
        if let Some(entry) = self.resources.get_mut(&resource.id) {
            entry.condition = Some(condition.0.clone());
        }
    }

    pub fn output(&mut self, id: &str, description: impl Into<String>, value: Expr) {
        self.outputs.insert(
            id.to_owned(),
            Output {
                description: description.into(),
                value,
            },
        );
    }

    /// The template as JSON, after checking every reference in it.
    pub fn to_json(&self) -> Result<Value, Vec<TemplateError>> {
        let errors = self.check();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(self.render())
    }

    /// The template as YAML, after checking every reference in it.
    pub fn to_yaml(&self) -> Result<String, Vec<TemplateError>> {
        let json = self.to_json()?;
        Ok(crate::yaml::to_string(&json))
    }

    /// Logical ids of the resources, in template order.
    pub fn resource_ids(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }

    fn render(&self) -> Value {
        let mut root = serde_json::Map::new();
        root.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        root.insert("Description".into(), json!(self.description));
        if !self.parameters.is_empty() {
            root.insert("Parameters".into(), json!(self.parameters));
        }
        if !self.conditions.is_empty() {
            let conditions: serde_json::Map<_, _> = self
                .conditions
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect();
            root.insert("Conditions".into(), Value::Object(conditions));
        }
        let resources: serde_json::Map<_, _> = self
            .resources
            .iter()
            .map(|(id, r)| {
                let mut entry = serde_json::Map::new();
                entry.insert("Type".into(), json!(r.kind));
                if let Some(c) = &r.condition {
                    entry.insert("Condition".into(), json!(c));
                }
                if !r.depends_on.is_empty() {
                    entry.insert("DependsOn".into(), json!(r.depends_on));
                }
                if let Some(p) = r.deletion_policy {
                    entry.insert("DeletionPolicy".into(), json!(p));
                }
                if let Some(p) = r.update_replace_policy {
                    entry.insert("UpdateReplacePolicy".into(), json!(p));
                }
                if !r.declined.is_empty() {
                    let skip: Vec<Value> = r
                        .declined
                        .iter()
                        .map(|(id, comment)| json!({ "id": id, "comment": comment }))
                        .collect();
                    entry.insert("Metadata".into(), json!({ "checkov": { "skip": skip } }));
                }
                if r.properties.as_object().is_some_and(|o| !o.is_empty()) {
                    entry.insert("Properties".into(), r.properties.clone());
                }
                (id.clone(), Value::Object(entry))
            })
            .collect();
        root.insert("Resources".into(), Value::Object(resources));
        if !self.outputs.is_empty() {
            let outputs: serde_json::Map<_, _> = self
                .outputs
                .iter()
                .map(|(id, o)| {
                    (
                        id.clone(),
                        json!({ "Description": o.description, "Value": o.value }),
                    )
                })
                .collect();
            root.insert("Outputs".into(), Value::Object(outputs));
        }
        Value::Object(root)
    }

    fn check(&self) -> Vec<TemplateError> {
        let mut errors: Vec<TemplateError> = self
            .duplicates
            .iter()
            .cloned()
            .map(TemplateError::DuplicateLogicalId)
            .collect();
        let ids = self
            .parameters
            .keys()
            .chain(self.conditions.keys())
            .chain(self.resources.keys());
        for id in ids {
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                errors.push(TemplateError::InvalidLogicalId(id.clone()));
            }
        }
        let mut refs = RefCheck {
            template: self,
            errors: &mut errors,
        };
        for (id, c) in &self.conditions {
            refs.walk(&format!("Conditions.{id}"), &c.to_json(), &BTreeSet::new());
        }
        for (id, r) in &self.resources {
            refs.walk(&format!("Resources.{id}"), &r.properties, &BTreeSet::new());
            for dep in &r.depends_on {
                refs.target(&format!("Resources.{id}.DependsOn"), dep, false);
            }
            if let Some(c) = &r.condition {
                refs.condition(&format!("Resources.{id}.Condition"), c);
            }
        }
        for (id, o) in &self.outputs {
            refs.walk(
                &format!("Outputs.{id}"),
                &o.value.to_json(),
                &BTreeSet::new(),
            );
        }
        errors
    }
}

struct RefCheck<'a> {
    template: &'a Template,
    errors: &'a mut Vec<TemplateError>,
}

impl RefCheck<'_> {
    fn target(&mut self, from: &str, target: &str, allow_parameters: bool) {
        let known = self.template.resources.contains_key(target)
            || (allow_parameters
                && (self.template.parameters.contains_key(target)
                    || Pseudo::ALL.iter().any(|p| p.as_str() == target)));
        if !known {
            self.errors.push(TemplateError::DanglingReference {
                from: from.to_owned(),
                target: target.to_owned(),
            });
        }
    }

    fn condition(&mut self, from: &str, condition: &str) {
        if !self.template.conditions.contains_key(condition) {
            self.errors.push(TemplateError::UnknownCondition {
                from: from.to_owned(),
                condition: condition.to_owned(),
            });
        }
    }

    fn walk(&mut self, path: &str, value: &Value, sub_vars: &BTreeSet<String>) {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().expect("one entry");
                match (key.as_str(), arg) {
                    ("Ref", Value::String(target)) => self.target(path, target, true),
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        if let Some(Value::String(target)) = parts.first() {
                            self.target(path, target, false);
                        }
                    }
                    ("Fn::If", Value::Array(parts)) => {
                        if let Some(Value::String(c)) = parts.first() {
                            self.condition(path, c);
                        }
                        for p in parts.iter().skip(1) {
                            self.walk(path, p, sub_vars);
                        }
                    }
                    ("Fn::Sub", Value::String(s)) => self.sub(path, s, sub_vars),
                    ("Fn::Sub", Value::Array(parts)) => {
                        let vars: BTreeSet<String> = parts
                            .get(1)
                            .and_then(Value::as_object)
                            .map(|m| m.keys().cloned().collect())
                            .unwrap_or_default();
                        if let Some(Value::String(s)) = parts.first() {
                            self.sub(path, s, &vars);
                        }
                        if let Some(Value::Object(m)) = parts.get(1) {
                            for (k, v) in m {
                                self.walk(&format!("{path}.{k}"), v, sub_vars);
                            }
                        }
                    }
                    _ => self.walk(&format!("{path}.{key}"), arg, sub_vars),
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    self.walk(&format!("{path}.{k}"), v, sub_vars);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.walk(&format!("{path}[{i}]"), v, sub_vars);
                }
            }
            _ => {}
        }
    }

    /// Checks every `${Name}` and `${Name.Attribute}` of a `Fn::Sub` string;
    /// `${!Literal}` is an escape and names nothing.
    fn sub(&mut self, path: &str, s: &str, vars: &BTreeSet<String>) {
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else { break };
            let name = &after[..end];
            rest = &after[end + 1..];
            if name.starts_with('!') || vars.contains(name) {
                continue;
            }
            match name.split_once('.') {
                Some((resource, _attribute)) => self.target(path, resource, false),
                None => self.target(path, name, true),
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Thing {
        target: Expr,
    }

    impl Resource for Thing {
        const TYPE: &'static str = "Test::Thing";
    }

    #[test]
    fn references_to_resources_of_another_template_are_rejected() {
        let mut other = Template::new("other");
        let foreign = other.add("Foreign", Thing { target: "x".into() });
        let mut t = Template::new("test");
        t.add(
            "Local",
            Thing {
                target: foreign.attr("Arn"),
            },
        );
        t.add(
            "Sub",
            Thing {
                target: Expr::sub("${Missing}-${AWS::Region}-${!Literal}"),
            },
        );
        let errors = t.to_yaml().expect_err("dangling references");
        assert_eq!(
            errors,
            vec![
                TemplateError::DanglingReference {
                    from: "Resources.Local.Target".into(),
                    target: "Foreign".into()
                },
                TemplateError::DanglingReference {
                    from: "Resources.Sub.Target".into(),
                    target: "Missing".into()
                },
            ]
        );
    }

    #[test]
    fn sub_variables_parameters_and_conditions_resolve() {
        let mut t = Template::new("test");
        let p = t.parameter("Name", Parameter::string("a name").default("x"));
        let c = t.condition("HasName", Expr::equals(p.r#ref(), "x".into()));
        let a = t.add("A", Thing { target: p.r#ref() });
        t.add(
            "B",
            Thing {
                target: Expr::if_(
                    &c,
                    Expr::sub_with("${Var}-${A}-${A.Arn}-${Name}", [("Var", a.r#ref())]),
                    Expr::pseudo(Pseudo::NoValue),
                ),
            },
        );
        let yaml = t.to_yaml().expect("valid template");
        assert!(yaml.contains("Fn::If"), "{yaml}");
    }

    #[test]
    fn duplicate_and_invalid_logical_ids_are_rejected() {
        let mut t = Template::new("test");
        t.add("Same", Thing { target: "1".into() });
        t.add("Same", Thing { target: "2".into() });
        t.add("Not-Valid", Thing { target: "3".into() });
        let errors = t.to_json().expect_err("invalid ids");
        assert!(errors.contains(&TemplateError::DuplicateLogicalId("Same".into())));
        assert!(errors.contains(&TemplateError::InvalidLogicalId("Not-Valid".into())));
    }
}
