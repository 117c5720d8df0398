/**
 * A golden case of `eksnode init`: a directory under tests/golden/init/ holding `case.yaml` (the inputs, as
 * {@link InitCase}), `userdata` when IMDS serves user data, and `expected/` (what init writes, MODES, STDOUT
 * and STDERR when there is any). Adding a case is adding a directory; tests/golden/init/README.md shows the
 * fields. `case.yaml` is checked with a schema, so a misspelt field fails naming the file and the field.
 */
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import * as z from "../../../lib/zod.ts";
import { GOLDEN_ROOT } from "../golden.ts";

/** Where the init cases live. */
export const INIT_CASES_DIR: string = join(GOLDEN_ROOT, "init");

/** The entries a case directory may hold. */
const CASE_ENTRIES = new Set(["case.yaml", "userdata", "expected"]);

const count = z.int().check(z.nonnegative());

const instanceShape = z.strictObject({
  /** Region and zone `<region>a` (default us-west-2). */
  region: z.optional(z.string()),
  /** Default m5.large. */
  instanceType: z.optional(z.string()),
  /** The primary interface has an IPv6 address and the VPC an IPv6 block (default: IPv4 only). */
  ipv6: z.optional(z.boolean()),
  /** IMDS `hostname` ends in this DHCP domain, while EC2's PrivateDnsName stays `ip-….compute.internal`. */
  dhcpDomain: z.optional(z.string()),
});

const ec2Type = z.strictObject({
  enis: count,
  ipsPerEni: count,
  vcpus: count,
  hypervisor: z.optional(z.string()),
});

const caseSchema = z.strictObject({
  /** What the case shows, for a reader. */
  description: z.string().check(z.minLength(1)),
  /** Arguments after `init` (the runner appends `--root ROOT`). */
  args: z.optional(z.array(z.string())),
  /** What IMDS says about the instance. */
  instance: z.optional(instanceShape),
  /** Clusters the EKS fake answers DescribeCluster for: name → fields over fakes/eks.ts clusterJson's. */
  clusters: z.optional(z.record(z.string(), z.record(z.string(), z.unknown()))),
  /** The EKS fake answers this many calls with ThrottlingException first. */
  throttleFirst: z.optional(count),
  /** Instance types the EC2 fake knows (default: m5.large). */
  ec2Types: z.optional(z.record(z.string(), ec2Type)),
  /** API calls the first run makes (default: no EKS call, no DescribeInstanceTypes, one DescribeInstances). */
  calls: z.optional(z.strictObject({
    eks: z.optional(count),
    describeInstanceTypes: z.optional(count),
    describeInstances: z.optional(count),
  })),
  /** KUBERNETES_VERSION of the baked image (/etc/eks/release; default fakes/baked_root.ts's). */
  kubernetesVersion: z.optional(z.string()),
  /** Files of the machine put under the root before init (not outputs); text starting `#!` is made 0755. */
  machine: z.optional(
    z.record(z.string().check(z.regex(/^\/\S+$/, { error: "must be an absolute path" })), z.string()),
  ),
  /** Lines (or parts of lines) the first run's stdout must contain: what a user would check. */
  says: z.array(z.string()).check(z.minLength(1)),
});

/** The inputs of one case, as `case.yaml` gives them. */
export type CaseInputs = z.infer<typeof caseSchema>;

/** One case: its name (the directory), its inputs and its user data. */
export interface InitCase extends CaseInputs {
  name: string;
  /** The directory. */
  dir: string;
  /** The `userdata` file's text (none: IMDS answers 404). */
  userData?: string;
  /** Golden directory of the expected files, relative to tests/golden (for compareOrUpdate). */
  expected: string;
}

/** The problem lines of a failed parse: `file: field.path: message`. */
function problems(file: string, error: z.core.$ZodError): string {
  return error.issues.map((i) => {
    const at = i.path.length ? i.path.join(".") : "(top level)";
    const keys = i.code === "unrecognized_keys" ? ` ${i.keys.join(", ")}` : "";
    return `${file}: ${at}: ${i.message}${keys}`;
  }).join("\n");
}

/**
 * The inputs of a case from `case.yaml` text; throws naming `file` and each wrong field.
 * @example parseCaseFile("description: x\nsays: [y]\n", "a/case.yaml").says // ["y"]
 */
export function parseCaseFile(text: string, file: string): CaseInputs {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`${file}: not YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const parsed = z.safeParse(caseSchema, doc);
  if (!parsed.success) throw new Error(problems(file, parsed.error));
  return parsed.data;
}

/** Reads one case directory (the name is the directory's). */
export async function readCase(dir: string): Promise<InitCase> {
  const name = dir.split("/").filter(Boolean).pop()!;
  for await (const e of Deno.readDir(dir)) {
    if (!CASE_ENTRIES.has(e.name)) {
      throw new Error(`${dir}/${e.name}: not part of a case (${[...CASE_ENTRIES].join(", ")})`);
    }
  }
  const file = join(dir, "case.yaml");
  const inputs = parseCaseFile(await Deno.readTextFile(file), file);
  const userData = await Deno.readTextFile(join(dir, "userdata")).catch((err) => {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  });
  return {
    ...inputs,
    name,
    dir,
    ...(userData === undefined ? {} : { userData }),
    expected: `init/${name}/expected`,
  };
}

/** Every case directory under tests/golden/init/, by name. */
export async function initCases(): Promise<InitCase[]> {
  const dirs: string[] = [];
  for await (const e of Deno.readDir(INIT_CASES_DIR)) if (e.isDirectory) dirs.push(e.name);
  return await Promise.all(dirs.sort().map((d) => readCase(join(INIT_CASES_DIR, d))));
}
