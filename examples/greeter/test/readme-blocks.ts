import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The example's directory and the repository root. */
export const exampleDir = fileURLToPath(new URL("..", import.meta.url));
export const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
export const packageDir = fileURLToPath(new URL("../../../packages/protogate/", import.meta.url));

/** A fenced block of the package README: its language, its `key=value` attributes, its text. */
export interface Block {
  readonly lang: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly text: string;
}

/** Every fenced block of protogate's README, in order. */
export function readmeBlocks(): Block[] {
  const readme = readFileSync(`${packageDir}README.md`, "utf8");
  return [...readme.matchAll(/^```(\w*)([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1]!,
    attrs: Object.fromEntries([...m[2]!.matchAll(/(\w+)=(\S+)/g)].map((a) => [a[1]!, a[2]!])),
    text: m[3]!,
  }));
}

/** The quick start's files, by path in the user's project (the blocks with `title=`). */
export function quickStartFiles(blocks = readmeBlocks()): Map<string, string> {
  return new Map(blocks.filter((b) => b.attrs.title !== undefined).map((b) => [b.attrs.title!, b.text]));
}

/** The quick start's shell step named `name` (a block with `step=name`). */
export function quickStartStep(name: string, blocks = readmeBlocks()): string {
  const found = blocks.filter((b) => b.attrs.step === name);
  if (found.length !== 1) throw new Error(`the README has ${found.length} blocks with step=${name}`);
  return found[0]!.text;
}

/**
 * An example file as it reads in a project of one's own: the example's buf files differ only by
 * the two paths its README names (the workspace's protoc-gen-es, the symlink to protogate's proto).
 */
export function asInOwnProject(path: string, text: string): string {
  if (path === "buf.gen.yaml") return text.replace("local: ../../node_modules/.bin/protoc-gen-es # in your project: node_modules/.bin/protoc-gen-es", "local: node_modules/.bin/protoc-gen-es");
  if (path === "buf.yaml") return text.replace("- path: protogate-proto # in your project: node_modules/protogate/proto (see README.md)", "- path: node_modules/protogate/proto");
  return text;
}

/** Lines of code: not blank, not a comment, not an import. */
export function wiringLines(text: string): number {
  return text.split("\n").filter((line) => {
    const t = line.trim();
    return t !== "" && !t.startsWith("//") && !/^\/\*\*.*\*\/$/.test(t) && !t.startsWith("import ");
  }).length;
}
