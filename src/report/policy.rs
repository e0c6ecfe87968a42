//! The report of `vpce-audit policy`: the [`Analysis`] of a bucket policy as a table
//! per action plus the list of gaps, or as JSON (the analysis serialised as is).
//!
//! Policy text is not trusted either (it may come from someone else's account), so
//! every value taken from it is escaped for the terminal.

use std::io::{self, Write};

use super::grid::{Cell, Column, Grid, Kind, Screen, Tone};
use crate::check::bucket_policy::{ActionReport, Analysis};
use crate::escape;

/// Writes the analysis as one JSON document followed by a newline.
pub fn write_json(a: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    crate::escape::write_json(&mut *out, a, true)?;
    out.write_all(b"\n")
}

/// Writes the analysis for a terminal.
pub fn write_table(a: &Analysis, out: &mut dyn Write, screen: &Screen) -> io::Result<()> {
    let t = |s: &str| escape::terminal(s.as_bytes()).into_owned();
    let verdict = match a.status.name() {
        "enforced" => Cell::from("denied for every action").tone(Tone::Good),
        "partial" => Cell::from("denied only in part").tone(Tone::Warn),
        _ => Cell::from("NOT denied for some actions").tone(Tone::Bad),
    };
    screen.say_with(
        out,
        &format!(
            "bucket policy{}: {} statement(s); requests from outside the VPC endpoint:",
            a.bucket
                .as_deref()
                .map(|b| format!(" of {}", t(b)))
                .unwrap_or_default(),
            a.statements,
        ),
        &verdict,
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
    let mut columns = vec![
        Column::keep("action", Kind::Text),
        Column::keep("level", Kind::Atom),
        Column::keep("status", Kind::Atom),
        Column::keep("allowed endpoints", Kind::Text),
    ];
    columns.extend(
        shown
            .iter()
            .map(|(name, _)| Column::drop(name, Kind::Text, 2)),
    );
    columns.push(Column::drop("denied by", Kind::Text, 1));
    let mut table = Grid::new(&columns);
    let list = |v: &[String]| -> String {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.iter().map(|s| t(s)).collect::<Vec<_>>().join(", ")
        }
    };
    for r in &a.actions {
        let status = Cell::from(r.status.name());
        let status = match r.status.name() {
            "enforced" => status.tone(Tone::Good),
            "partial" => status.tone(Tone::Warn),
            _ => status.tone(Tone::Bad),
        };
        let mut row = vec![
            Cell::from(t(&r.action)),
            Cell::from(r.level.name()),
            status,
            Cell::from(list(&r.endpoints)),
        ];
        row.extend(shown.iter().map(|(_, pick)| Cell::from(list(pick(r)))));
        row.push(Cell::from(list(&r.statements)));
        table.row(row);
    }
    table.write(out, screen)?;
    if !a.unlisted_actions.is_empty() {
        screen.say(
            out,
            &format!(
                "{} more action(s) named in the policy are not listed one by one (--format json names them)",
                a.unlisted_actions.len()
            ),
        )?;
    }
    if a.buckets.len() > 1 {
        screen.say(
            out,
            "buckets named in the policy, each judged on its own statements:",
        )?;
        for b in &a.buckets {
            screen.say(out, &format!("  - {}: {}", t(&b.bucket), b.status.name()))?;
        }
    }
    if a.gaps.is_empty() {
        writeln!(out, "no gaps found")?;
        return Ok(());
    }
    writeln!(out, "gaps:")?;
    for g in &a.gaps {
        let mut line = format!("  - [{}] ", g.kind.name());
        if !g.actions.is_empty() {
            let names: Vec<String> = g.actions.iter().map(|a| t(a)).collect();
            line += &format!("{}: ", names.join(", "));
        }
        line += &t(&g.message);
        if !g.statement.is_empty() {
            line += &format!(" (statement {})", t(&g.statement));
        }
        screen.say(out, &line)?;
    }
    Ok(())
}
