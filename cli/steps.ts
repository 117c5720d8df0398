/** `eksnode steps [ami|init]`: the numbered steps with their titles, like the process document. */
import { Argument, Command } from "@commander-js/extra-typings";
import type { Step } from "../lib/step.ts";
import { examples } from "./help.ts";

// deno-lint-ignore no-explicit-any -- the list only reads id, number, title and group of any step context
type AnyStep = Step<any>;

/** Renders a step list grouped by section. */
export function renderSteps(name: string, steps: AnyStep[]): string {
  const lines = [`eksnode ${name}: ${steps.length} step${steps.length === 1 ? "" : "s"}`];
  let group: string | undefined;
  for (const s of steps) {
    if (s.group && s.group !== group) {
      group = s.group;
      lines.push(`  ${group}`);
    }
    lines.push(`    ${String(s.number).padStart(2)}. ${s.title}`);
  }
  return lines.join("\n");
}

/** The `steps` command. */
export function stepsCommand() {
  return new Command("steps")
    .addHelpText(
      "after",
      examples([
        ["the numbered steps of the bake", "eksnode steps ami"],
        ["the numbered steps of a node's boot", "eksnode steps init"],
      ]),
    )
    .description("list the numbered steps of a process")
    .addArgument(new Argument("[process]", "which process").choices(["ami", "init"] as const))
    .action(async (process) => {
      const out: string[] = [];
      if (!process || process === "ami") {
        const { AMI_STEPS, AL2023_STEPS, HYGIENE_STEP } = await import("../steps/ami/index.ts");
        out.push(renderSteps("ami", AMI_STEPS));
        out.push(
          renderSteps("ami --al2023 (--accelerator nvidia|neuron, --efa), AL2023 phase", AL2023_STEPS),
        );
        out.push(renderSteps("ami --hygiene, last", [HYGIENE_STEP]));
      }
      if (!process || process === "init") {
        out.push(renderSteps("init", (await import("../steps/init/index.ts")).INIT_STEPS));
      }
      console.log(out.join("\n\n"));
    });
}
