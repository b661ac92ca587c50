//! Writes change only what they name (DOMAIN.md; Google AIP-134). An item
//! pushed for a record that exists is laid over the stored version: with an
//! `update_mask`, exactly the fields it names (a named field the item leaves
//! empty is cleared; `*` replaces the record whole); without one, the fields
//! the item sets, nested messages field by field. So a record never loses a
//! value because a later push left it out. Fields the server owns (version
//! meta, a project's dated events) are never taken from an item.

use citydash_runtime::Violations;
use prost::{Message, Name};
use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, ReflectMessage, Value};
use prost_types::FieldMask;

/// Messages that are one value (a date, a month): set whole, never merged field by field.
const ATOMIC: &[&str] = &["citydash.v1.Date", "citydash.v1.Period", "google.protobuf.Timestamp"];

/// Fields no item may set, in any message: the output-only version meta.
const SERVER_OWNED: &[&str] = &["meta"];

fn descriptor<M: Name>() -> MessageDescriptor {
    citydash_proto::descriptor_pool()
        .get_message_by_name(&M::full_name())
        .expect("a citydash message")
}

/// `m` as a reflected message, for the checks and merges that read any
/// message field by field.
pub(crate) fn dynamic<M: Message + Name>(m: &M) -> DynamicMessage {
    DynamicMessage::decode(descriptor::<M>(), m.encode_to_vec().as_slice()).expect("a message decodes as itself")
}

/// Checks the mask's paths against `M` (the item message), recording a
/// violation of `update_mask.paths[i]` for each one that names no field, or a
/// field the server owns (`keep`, or the meta).
pub fn check<M: Name>(mask: Option<&FieldMask>, keep: &[&str], violations: &mut Violations) {
    let Some(mask) = mask else { return };
    let desc = descriptor::<M>();
    for (i, path) in mask.paths.iter().enumerate() {
        let field = format!("update_mask.paths[{i}]");
        if path == "*" {
            if mask.paths.len() > 1 {
                violations.add(field, "「*」表示整条替换，不能与其他字段同时出现");
            }
            continue;
        }
        let head = path.split('.').next().unwrap_or_default();
        if keep.contains(&head) || SERVER_OWNED.contains(&head) {
            violations.add(field, format!("字段「{path}」由服务维护，不能写入"));
        } else if !resolves(&desc, path) {
            violations.add(field, format!("「{path}」不是 {} 的字段", desc.name()));
        }
    }
}

fn resolves(desc: &MessageDescriptor, path: &str) -> bool {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let Some(field) = desc.get_field_by_name(head) else {
        return false;
    };
    match (rest, field.kind()) {
        (None, _) => true,
        (Some(rest), Kind::Message(inner)) if !field.is_list() && !field.is_map() => resolves(&inner, rest),
        _ => false,
    }
}

/// `stored` with `item` laid over it as `mask` says (see the module doc).
/// `keep` names top-level fields the server owns, which keep their stored
/// value. The mask must have passed [`check`].
pub fn merge<M: Message + Name + Default>(stored: &M, item: &M, mask: Option<&FieldMask>, keep: &[&str]) -> M {
    let mut out = dynamic(stored);
    let given = dynamic(item);
    match mask {
        Some(mask) if mask.paths.iter().any(|p| p == "*") => {
            let original = out.clone();
            out = given;
            for name in keep.iter().chain(SERVER_OWNED) {
                if let Some(f) = original.descriptor().get_field_by_name(name) {
                    if original.has_field(&f) {
                        out.set_field(&f, original.get_field(&f).into_owned());
                    } else {
                        out.clear_field(&f);
                    }
                }
            }
        }
        Some(mask) => {
            for path in &mask.paths {
                let segments: Vec<&str> = path.split('.').collect();
                set_path(&mut out, &given, &segments);
            }
        }
        None => lay_over(&mut out, &given, keep),
    }
    out.transcode_to::<M>().expect("a merged message is still its type")
}

/// Sets every field `src` has onto `dst`, nested messages field by field.
fn lay_over(dst: &mut DynamicMessage, src: &DynamicMessage, keep: &[&str]) {
    for field in src.descriptor().fields() {
        if keep.contains(&field.name()) || SERVER_OWNED.contains(&field.name()) || !src.has_field(&field) {
            continue;
        }
        let value = src.get_field(&field);
        match (field.kind(), &*value) {
            (Kind::Message(m), Value::Message(inner))
                if !field.is_list() && !field.is_map() && !ATOMIC.contains(&m.full_name()) =>
            {
                if let Value::Message(target) = dst.get_field_mut(&field) {
                    lay_over(target, inner, &[]);
                }
            }
            _ => dst.set_field(&field, value.into_owned()),
        }
    }
}

/// Copies the field at `path` from `src` to `dst`, clearing it where `src` has none.
fn set_path(dst: &mut DynamicMessage, src: &DynamicMessage, path: &[&str]) {
    let Some((head, rest)) = path.split_first() else { return };
    let Some(field) = dst.descriptor().get_field_by_name(head) else {
        return;
    };
    if rest.is_empty() {
        if src.has_field(&field) {
            dst.set_field(&field, src.get_field(&field).into_owned());
        } else {
            dst.clear_field(&field);
        }
        return;
    }
    if !src.has_field(&field) && !dst.has_field(&field) {
        return;
    }
    let empty = DynamicMessage::new(match field.kind() {
        Kind::Message(m) => m,
        _ => return,
    });
    let inner_src = match &*src.get_field(&field) {
        Value::Message(m) if src.has_field(&field) => m.clone(),
        _ => empty,
    };
    if let Value::Message(inner_dst) = dst.get_field_mut(&field) {
        set_path(inner_dst, &inner_src, rest);
    }
}

#[cfg(test)]
mod tests {
    use citydash_proto::v1;

    use super::*;

    fn stored() -> v1::Project {
        crate::testdata::stored_project()
    }

    #[test]
    fn without_a_mask_only_what_the_item_sets_changes() {
        let item = v1::Project {
            code: "P-1".into(),
            stage: v1::ProjectStage::Started as i32,
            promotion: Some(v1::PromotionContract {
                investor: "新投资方".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let merged = merge(&stored(), &item, None, &["events"]);
        let mut want = stored();
        want.stage = v1::ProjectStage::Started as i32;
        if let Some(p) = want.promotion.as_mut() {
            p.investor = "新投资方".into();
        }
        assert_eq!(merged, want);
    }

    #[test]
    fn a_mask_sets_and_clears_exactly_its_paths() {
        let item = v1::Project {
            code: "P-1".into(),
            name: "改名".into(),
            ..Default::default()
        };
        let mask = FieldMask {
            paths: vec!["name".into(), "promotion.investor".into(), "plans".into()],
        };
        let merged = merge(&stored(), &item, Some(&mask), &["events"]);
        let mut want = stored();
        want.name = "改名".into();
        want.plans.clear();
        if let Some(p) = want.promotion.as_mut() {
            p.investor.clear();
        }
        assert_eq!(merged, want);
        let whole = merge(
            &stored(),
            &item,
            Some(&FieldMask {
                paths: vec!["*".into()],
            }),
            &[],
        );
        assert_eq!(whole, item);
    }

    #[test]
    fn unknown_and_server_owned_paths_are_refused() {
        let mut v = Violations::new();
        let mask = FieldMask {
            paths: vec![
                "name".into(),
                "nope".into(),
                "events".into(),
                "promotion.investor".into(),
                "meta".into(),
            ],
        };
        check::<v1::Project>(Some(&mask), &["events"], &mut v);
        let fields: Vec<&str> = v.as_slice().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["update_mask.paths[1]", "update_mask.paths[2]", "update_mask.paths[4]"]
        );
    }
}
