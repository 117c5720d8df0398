/**
 * NodeConfig `spec.kubelet.maxPodsExpression`: a CEL expression over the instance type's ENI limits whose
 * value becomes the kubelet's maxPods (unless kubelet config `maxPods` is set) and sizes kube-reserved.
 * Semantics from awslabs/amazon-eks-ami nodeadm/internal/kubelet/eni_max_pods.go (`CalcMaxPods`,
 * `evaluateCustomMaxPodsExpression`) and nodeadm/doc/examples.md "Defining a Max Pods Expression",
 * commit 81fec2e8:
 *
 * - variables (all CEL `int`): `default_enis` (ENIs on the default network card), `ips_per_eni`
 *   (IPv4 addresses per ENI) and `max_pods` (the standard `default_enis * (ips_per_eni - 1) + 2`);
 * - the result is converted to an int (as cel-go's `ConvertToType(IntType)`: doubles truncate, uints
 *   and decimal strings convert) and must be 1 ≤ n ≤ 2³¹−1;
 * - any failure (syntax, unknown variable, runtime error, bad result) is not fatal: nodeadm logs a
 *   warning and uses the standard value. eksnode does the same.
 *
 * Evaluated with @bufbuild/cel (a CEL evaluator for ECMAScript; cel-go has a type checker that
 * @bufbuild/cel lacks, so an undeclared variable is found at evaluation instead of compilation).
 */
import { isCelError, isCelUint, parse, run } from "@bufbuild/cel";

/** The variables of a max pods expression. */
export interface MaxPodsVariables {
  defaultEnis: number;
  ipsPerEni: number;
  /** The standard max pods of the instance type. */
  maxPods: number;
}

/** The outcome of {@link evaluateMaxPodsExpression}: a value, or why there is none. */
export type MaxPodsExpressionResult = { ok: true; value: number } | { ok: false; problem: string };

const INT32_MAX = 2 ** 31 - 1;

/**
 * Evaluates a max pods expression with nodeadm's variables.
 * @example evaluateMaxPodsExpression("max_pods + 2", { defaultEnis: 4, ipsPerEni: 15, maxPods: 58 }) // { ok: true, value: 60 }
 */
export function evaluateMaxPodsExpression(
  expression: string,
  vars: MaxPodsVariables,
): MaxPodsExpressionResult {
  let raw: unknown;
  try {
    raw = run(expression, {
      default_enis: BigInt(vars.defaultEnis),
      ips_per_eni: BigInt(vars.ipsPerEni),
      max_pods: BigInt(vars.maxPods),
    });
  } catch (err) {
    return { ok: false, problem: firstLine(err) };
  }
  if (isCelError(raw)) return { ok: false, problem: firstLine(raw) };
  const n = toInt(raw);
  if (n === undefined) {
    return { ok: false, problem: `its result ${describe(raw)} is not an integer` };
  }
  if (n <= 0n || n > BigInt(INT32_MAX)) {
    return { ok: false, problem: `its result ${n} is not a max pods value (1 to ${INT32_MAX})` };
  }
  return { ok: true, value: Number(n) };
}

/**
 * What is wrong with an expression before any instance is known: a syntax error, or an error when it
 * is evaluated with sample values (m5.large: 3 ENIs, 10 IPs each, max pods 29), e.g. an unknown variable.
 * Undefined when it evaluates to a max pods value there.
 */
export function maxPodsExpressionProblem(expression: string): string | undefined {
  try {
    parse(expression);
  } catch (err) {
    return firstLine(err);
  }
  const sample = evaluateMaxPodsExpression(expression, { defaultEnis: 3, ipsPerEni: 10, maxPods: 29 });
  return sample.ok ? undefined : `${sample.problem} (evaluated for m5.large: 3 ENIs, 10 IPs per ENI)`;
}

/** cel-go's int conversion of a result: int, uint, finite double (truncated), decimal string. */
function toInt(v: unknown): bigint | undefined {
  if (typeof v === "bigint") return v;
  if (isCelUint(v)) return (v as { value: bigint }).value;
  if (typeof v === "number") return Number.isFinite(v) ? BigInt(Math.trunc(v)) : undefined;
  if (typeof v === "string" && /^[+-]?[0-9]+$/.test(v.trim())) return BigInt(v.trim());
  return undefined;
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "boolean" || typeof v === "number") return String(v);
  return `of type ${typeof v}`;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String((err as { message?: unknown })?.message ?? err);
  return msg.split("\n")[0];
}
