import type { CheckReport, Finding, Severity } from './report.js';

/** ANSI styles, or none. */
interface Palette {
  bold(text: string): string;
  dim(text: string): string;
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
}

const PLAIN: Palette = { bold: (t) => t, dim: (t) => t, green: (t) => t, red: (t) => t, yellow: (t) => t };
const ANSI: Palette = {
  bold: (t) => `\u001b[1m${t}\u001b[22m`,
  dim: (t) => `\u001b[2m${t}\u001b[22m`,
  green: (t) => `\u001b[32m${t}\u001b[39m`,
  red: (t) => `\u001b[31m${t}\u001b[39m`,
  yellow: (t) => `\u001b[33m${t}\u001b[39m`,
};

/** Failed probe requests listed per probe in the terminal report; --json lists them all. */
const MAX_FAILED_STEPS_SHOWN = 6;

/** Returns whether to colour the output: stdout is a terminal and NO_COLOR is unset or empty (no-color.org). */
export function shouldUseColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

function severityLabel(severity: Severity, palette: Palette): string {
  const label = severity.toUpperCase().padEnd(6);
  if (severity === 'high') return palette.red(label);
  if (severity === 'medium') return palette.yellow(label);
  return palette.dim(label);
}

function sign(modifier: number): string {
  return modifier > 0 ? `+${modifier}` : String(modifier);
}

/** Renders the report for a terminal. */
export function formatText(report: CheckReport, color: boolean): string {
  const p = color ? ANSI : PLAIN;
  const { observatory } = report;
  const lines: string[] = [];
  const gradeText = `${observatory.grade} (${observatory.score}/100)`;
  lines.push(p.bold(`harden-check ${report.target}`));
  if (report.finalUrl !== report.target) lines.push(p.dim(`scored ${report.finalUrl} (${report.status})`));
  lines.push('');
  lines.push(
    `${p.bold('Grade')} ${report.passed ? p.green(gradeText) : p.red(gradeText)}  ${p.dim(`MDN HTTP Observatory v${observatory.observatoryVersion} rules, algorithm ${observatory.algorithmVersion}; without bonuses ${observatory.scoreWithoutBonuses}`)}`,
  );
  lines.push('');
  lines.push(p.bold('Headers (Observatory tests)'));
  for (const test of observatory.tests) {
    const mark = test.pass ? p.green('pass') : p.red('FAIL');
    lines.push(
      `  ${mark}  ${sign(test.modifier).padStart(3)}  ${test.test.padEnd(30)} ${p.dim(test.result)}`,
    );
  }

  lines.push('');
  lines.push(p.bold('Probes'));
  for (const probe of report.probes) {
    lines.push(
      `  ${probe.passed ? p.green('pass') : p.red('FAIL')}  ${probe.name.padEnd(10)} ${probe.summary}`,
    );
    const failedSteps = probe.steps.filter((step) => !step.passed);
    for (const step of failedSteps.slice(0, MAX_FAILED_STEPS_SHOWN)) {
      lines.push(`        ${p.red('x')} ${step.label}: ${step.detail}`);
    }
    if (failedSteps.length > MAX_FAILED_STEPS_SHOWN) {
      lines.push(p.dim(`        ... and ${failedSteps.length - MAX_FAILED_STEPS_SHOWN} more (see --json)`));
    }
  }

  lines.push('');
  lines.push(p.bold(`Findings (${report.findings.length})`));
  if (report.findings.length === 0) lines.push('  none');
  for (const finding of sortFindings(report.findings)) {
    lines.push(`  ${severityLabel(finding.severity, p)} ${finding.message} ${p.dim(`[${finding.id}]`)}`);
    if (finding.fix) lines.push(`         ${p.dim(`fix: ${finding.fix}`)}`);
  }

  lines.push('');
  if (report.passed) {
    lines.push(
      p.green(
        `PASSED: grade ${observatory.grade} >= ${report.minGrade}, every probe passed, no finding at ${report.failOn} or worse.`,
      ),
    );
  } else {
    lines.push(p.red(`FAILED: ${report.failures.join('; ')}.`));
  }
  return `${lines.join('\n')}\n`;
}

/** Renders the report as indented JSON. */
export function formatJson(report: CheckReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** Renders a Markdown status table, one row per Observatory test and probe, for security.md. */
export function formatMarkdown(report: CheckReport): string {
  const { observatory } = report;
  const lines: string[] = [];
  lines.push(
    `harden-check of \`${report.target}\`: grade **${observatory.grade}** (${observatory.score}/100, MDN HTTP Observatory v${observatory.observatoryVersion} scoring), ${report.passed ? 'passed' : 'failed'}.`,
  );
  lines.push('');
  lines.push('| check | status | result |');
  lines.push('|---|---|---|');
  for (const test of observatory.tests) {
    lines.push(
      `| ${test.test} | ${test.pass ? 'pass' : 'FAIL'} (${sign(test.modifier)}) | ${escapeCell(test.result)} |`,
    );
  }
  for (const probe of report.probes) {
    lines.push(`| ${probe.name} probe | ${probe.passed ? 'pass' : 'FAIL'} | ${escapeCell(probe.summary)} |`);
  }
  const serious = sortFindings(report.findings).filter(
    (finding) => finding.severity === 'high' || finding.severity === 'medium',
  );
  for (const finding of serious) {
    lines.push(`| ${finding.id} | ${finding.severity} | ${escapeCell(finding.message)} |`);
  }
  return `${lines.join('\n')}\n`;
}

function sortFindings(findings: readonly Finding[]): Finding[] {
  const order: Severity[] = ['high', 'medium', 'low', 'info'];
  return [...findings].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity));
}
