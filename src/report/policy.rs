//! The report of `vpce-audit policy`: the [`Analysis`] of a bucket policy as a table
//! per action plus the list of gaps, or as JSON (the analysis serialised as is).
//!
//! Policy text is not trusted either (it may come from someone else's account), so
//! every value taken from it is escaped for the terminal.

use std::io::{self, Write};

use comfy_table::Cell;

use super::table::{header, new_table};
use crate::check::bucket_policy::Analysis;
use crate::escape;

/// Writes the analysis as one JSON document followed by a newline.
pub fn write_json(a: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    crate::escape::write_json(&mut *out, a, true)?;
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
    let show_vpcs = a.actions.iter().any(|r| !r.vpcs.is_empty());
    let show_ips = a.actions.iter().any(|r| !r.vpc_source_ips.is_empty());
    let mut names = vec!["action", "level", "status", "allowed endpoints"];
    if show_vpcs {
        names.push("allowed VPCs");
    }
    if show_ips {
        names.push("allowed VPC source IPs");
    }
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
        let endpoints = if r.any_endpoint && r.endpoints.is_empty() {
            "any endpoint".to_string()
        } else {
            list(&r.endpoints)
        };
        let mut row = vec![
            Cell::new(t(&r.action)),
            Cell::new(r.level.name()),
            Cell::new(r.status.name()),
            Cell::new(endpoints),
        ];
        if show_vpcs {
            row.push(Cell::new(list(&r.vpcs)));
        }
        if show_ips {
            row.push(Cell::new(list(&r.vpc_source_ips)));
        }
        row.push(Cell::new(list(&r.statements)));
        table.add_row(row);
    }
    writeln!(out, "{table}")?;
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
