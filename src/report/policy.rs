//! The report of `vpce-audit policy`: the [`Analysis`] of a bucket policy as a table
//! per action plus the list of gaps, or as JSON (the analysis serialised as is).
//!
//! Policy text is not trusted either (it may come from someone else's account), so
//! every value taken from it is escaped for the terminal.

use std::io::{self, Write};

use comfy_table::Cell;

use super::table::{header, new_table};
use crate::check::bucket_policy::{ActionReport, Analysis};
use crate::escape;

/// Writes the analysis as one JSON document followed by a newline.
pub fn write_json(a: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, a)?;
    out.write_all(b"\n")
}

/// Writes the analysis for a terminal.
pub fn write_table(a: &Analysis, out: &mut dyn Write, fit: bool) -> io::Result<()> {
    let t = |s: &str| escape::terminal(s.as_bytes()).into_owned();
    writeln!(
        out,
        "bucket policy{}: {} statement(s); requests from outside the VPC endpoint: {}",
        a.bucket
            .as_deref()
            .map(|b| format!(" of {}", t(b)))
            .unwrap_or_default(),
        a.statements,
        match a.status.name() {
            "enforced" => "denied for every action",
            "partial" => "denied only in part",
            _ => "NOT denied for some actions",
        }
    )?;
    // The endpoint ids always; the other allowed networks when a statement names them.
    type Pick = fn(&ActionReport) -> &Vec<String>;
    let others: [(&str, Pick); 6] = [
        ("allowed VPCs", |r| &r.vpcs),
        ("allowed VPC ARNs", |r| &r.vpc_arns),
        ("allowed endpoint accounts", |r| &r.vpce_accounts),
        ("allowed organizations", |r| &r.vpce_orgs),
        ("allowed organization paths", |r| &r.vpce_org_paths),
        ("allowed VPC source IPs", |r| &r.vpc_source_ips),
    ];
    let shown: Vec<(&str, Pick)> = others
        .into_iter()
        .filter(|(_, pick)| a.actions.iter().any(|r| !pick(r).is_empty()))
        .collect();
    let mut names = vec!["action", "level", "status", "allowed endpoints"];
    names.extend(shown.iter().map(|(name, _)| *name));
    names.push("denied by");
    let mut table = new_table(fit);
    table.set_header(header(&names));
    let list = |v: &[String]| -> String {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.iter().map(|s| t(s)).collect::<Vec<_>>().join(", ")
        }
    };
    for r in &a.actions {
        let mut row = vec![
            Cell::new(t(&r.action)),
            Cell::new(r.level.name()),
            Cell::new(r.status.name()),
            Cell::new(list(&r.endpoints)),
        ];
        row.extend(shown.iter().map(|(_, pick)| Cell::new(list(pick(r)))));
        row.push(Cell::new(list(&r.statements)));
        table.add_row(row);
    }
    writeln!(out, "{table}")?;
    if !a.unlisted_actions.is_empty() {
        writeln!(
            out,
            "{} more action(s) named in the policy are not listed one by one (--format json names them)",
            a.unlisted_actions.len()
        )?;
    }
    if a.buckets.len() > 1 {
        writeln!(
            out,
            "buckets named in the policy, each judged on its own statements:"
        )?;
        for b in &a.buckets {
            writeln!(out, "  - {}: {}", t(&b.bucket), b.status.name())?;
        }
    }
    if a.gaps.is_empty() {
        writeln!(out, "no gaps found")?;
        return Ok(());
    }
    writeln!(out, "gaps:")?;
    for g in &a.gaps {
        write!(out, "  - [{}] ", g.kind.name())?;
        if !g.actions.is_empty() {
            let names: Vec<String> = g.actions.iter().map(|a| t(a)).collect();
            write!(out, "{}: ", names.join(", "))?;
        }
        write!(out, "{}", t(&g.message))?;
        if !g.statement.is_empty() {
            write!(out, " (statement {})", t(&g.statement))?;
        }
        writeln!(out)?;
    }
    Ok(())
}
