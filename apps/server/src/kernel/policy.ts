import fs from 'node:fs';
import { Type, type TObject, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import Value from 'typebox/value';
import { isMap, isScalar, LineCounter, parseDocument, type Scalar } from 'yaml';

/**
 * The product policy (FR-PROD-001): everything a product may choose, one section per module,
 * in `products/<name>/policy.yaml`. The schema is assembled from the modules' sections, each with
 * the baseline's defaults, so a file names only what it changes; a setting no module declares, or
 * a value out of its range, stops the start with every problem listed by path and line.
 */
export type PolicySections = Record<string, TObject>;

/** The validated policy: each module's section with its defaults filled in. */
export type Policy = Readonly<Record<string, unknown>>;

export interface PolicyProblem {
  /** Where in the file: `identity.login_failure_delay_ms` (empty for the document itself). */
  path: string;
  /** 1-based line in the file, when the problem is at a node of it. */
  line: number | null;
  message: string;
}

export class PolicyError extends Error {
  constructor(
    readonly file: string,
    readonly problems: PolicyProblem[],
  ) {
    super(`Invalid product policy ${file}:\n${problems.map((p) => `  ${p.line ? `line ${p.line}: ` : ''}${p.path || '(document)'}: ${p.message}`).join('\n')}`);
  }
}

/** A section's schema: an object of known settings, each with its baseline default. */
export function policySection<Properties extends Record<string, TSchema>>(properties: Properties) {
  return Type.Object(properties, { additionalProperties: false, default: {} });
}

function schemaOf(sections: PolicySections): TObject {
  return Type.Object(
    {
      // Which product the file is: shown in the health report and the audit of policy changes.
      product: Type.Object({ name: Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' }), description: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
      ...sections,
    },
    { additionalProperties: false },
  );
}

const segments = (pointer: string) => (pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')));

/** Parses and validates a policy document's text; throws PolicyError with every problem found. */
export function parsePolicy(file: string, text: string, sections: PolicySections): Policy {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number | undefined) => (offset === undefined ? null : lines.linePos(offset).line);
  if (document.errors.length > 0) {
    throw new PolicyError(
      file,
      document.errors.map((error) => ({ path: '', line: lineAt(error.pos[0]), message: error.message.split('\n')[0]! })),
    );
  }
  const schema = schemaOf(sections);
  const value = Value.Default(schema, document.toJS() ?? {});
  // The line of a setting's key, or of the nearest enclosing key that is in the file.
  const lineOf = (path: string[]) => {
    let node: unknown = document.contents;
    let line: number | null = null;
    for (const segment of path) {
      const pair = isMap(node) ? node.items.find((item) => isScalar(item.key) && String(item.key.value) === segment) : undefined;
      if (!pair) break;
      line = lineAt((pair.key as Scalar).range?.[0]);
      node = pair.value;
    }
    return line;
  };
  const problems: PolicyProblem[] = [];
  for (const error of Compile(schema).Errors(value)) {
    // An unknown key is reported once at the key itself, not again as its parent's summary.
    if (error.keyword === 'additionalProperties') continue;
    const at = segments(error.instancePath);
    const missing = error.keyword === 'required' ? ((error.params as { requiredProperties?: string[] }).requiredProperties ?? []) : [];
    for (const path of missing.length > 0 ? missing.map((name) => [...at, name]) : [at]) {
      const message =
        error.keyword === 'required' ? 'is required' : error.keyword === 'boolean' ? `is not a setting of this ${path.length > 1 ? `section (${path[0]})` : 'policy'}` : error.message;
      problems.push({ path: path.join('.'), line: lineOf(path), message });
    }
  }
  if (problems.length > 0) throw new PolicyError(file, problems);
  return value as Policy;
}

/** Reads, parses and validates a policy file (PRODUCT or PRODUCT_POLICY, see config.ts). */
export function loadPolicy(file: string, sections: PolicySections): Policy {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new PolicyError(file, [{ path: '', line: null, message: `cannot be read: ${(error as Error).message}` }]);
  }
  return parsePolicy(file, text, sections);
}

/** A policy with some settings changed, validated again (tests, and the products' instantiation to come). */
export function withPolicyChanges(policy: Policy, changes: Record<string, Record<string, unknown>>, sections: PolicySections): Policy {
  const merged: Record<string, unknown> = { ...policy };
  for (const [section, settings] of Object.entries(changes)) merged[section] = { ...(policy[section] as object | undefined), ...settings };
  return parsePolicy('(changed policy)', JSON.stringify(merged), sections);
}
