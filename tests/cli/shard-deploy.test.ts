// deploy/: the Kubernetes manifests validate against the Kubernetes API schema (kubernetes-models: the API's
// OpenAPI schemas compiled into validators, shipped in the package, no cluster or network needed), the Job runs
// `quantlab sweep` with options the CLI accepts, one shard per index, each to its own file on the shared volume,
// and the container recipe matches the project (Node's version, Dawn for Node as package-lock.json pins it).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Pod } from 'kubernetes-models/v1/Pod';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Args } from '../../src/cli/args';
import { COMMANDS } from '../../src/cli/commands/index';
import { sweepCommand } from '../../src/cli/commands/sweep';
import { parseShard } from '../../src/sweep/shard';

const K8S = 'deploy/k8s';
const MODELS: Record<string, (doc: never) => { validate(): void }> = {
  'batch/v1/Job': (doc) => new Job(doc),
  'v1/PersistentVolumeClaim': (doc) => new PersistentVolumeClaim(doc),
  'v1/Pod': (doc) => new Pod(doc),
};

type Doc = { apiVersion: string; kind: string; metadata: { name: string }; spec: unknown };
type JobSpec = {
  completionMode: string; completions: number; parallelism: number; podReplacementPolicy: string;
  template: { spec: {
    restartPolicy: string;
    containers: { args: string[]; volumeMounts: { name: string; mountPath: string }[] }[];
    volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[];
  } };
};
const docs: Doc[] = readdirSync(K8S).filter((f) => f.endsWith('.yaml')).flatMap((f) =>
  parseAllDocuments(readFileSync(join(K8S, f), 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${f}: ${d.errors[0].message}`);
    return d.toJS() as Doc;
  }),
);
const validate = (doc: Doc) => {
  const model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!model) throw new Error(`no schema here for ${doc.apiVersion} ${doc.kind}: add its kubernetes-models class`);
  model(doc as never).validate();
};

describe('deploy/k8s', () => {
  const job = docs.find((d) => d.kind === 'Job')!;
  const spec = job.spec as JobSpec;
  const pod = spec.template.spec;

  it('every manifest validates against the Kubernetes schema', () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(['Job', 'PersistentVolumeClaim', 'Pod']);
    for (const d of docs) expect(() => validate(d), `${d.kind} ${d.metadata.name}`).not.toThrow();
  });

  it('the validator rejects what the API server would (a wrong enum, a missing pod template, a string count)', () => {
    const broken = (f: (j: Record<string, unknown>) => void) => {
      const j = structuredClone(job) as unknown as { spec: Record<string, unknown> };
      f(j.spec);
      return () => validate(j as unknown as Doc);
    };
    expect(broken((s) => (s.completionMode = 'Index'))).toThrow(/completionMode/);
    expect(broken((s) => delete s.template)).toThrow(/template/);
    expect(broken((s) => (s.completions = '8'))).toThrow(/completions/);
  });

  it('is an Indexed Job whose pod I runs `quantlab sweep --shard I/N` to its own file on the shared volume', () => {
    expect(spec.completionMode).toBe('Indexed');
    expect(spec.template.spec.restartPolicy).toBe('Never');
    expect(spec.podReplacementPolicy).toBe('Failed'); // one writer per shard file
    const [container] = pod.containers;
    const [command, ...rest] = container.args;
    expect(command).toBe('sweep');
    for (const index of [0, spec.completions - 1]) {
      const args = new Args(rest.map((a) => a.replaceAll('$(JOB_COMPLETION_INDEX)', String(index))), new Set(sweepCommand.flags));
      expect(args.undocumented(sweepCommand.usage)).toEqual([]);
      expect(parseShard(args.str('shard'))).toEqual({ index, count: spec.completions });
      expect(args.str('out')).toMatch(new RegExp(`^/results/.*${index}.*\\.jsonl$`));
    }
    expect(rest.filter((a) => a.includes('$(JOB_COMPLETION_INDEX)'))).toHaveLength(2);
    expect(spec.parallelism).toBeLessThanOrEqual(spec.completions);
    // /results is the shared claim the other manifest defines, mounted read-write on every node
    const results = pod.volumes.find((v) => v.name === container.volumeMounts.find((m) => m.mountPath === '/results')!.name)!;
    const claim = docs.find((d) => d.kind === 'PersistentVolumeClaim' && d.metadata.name === results.persistentVolumeClaim?.claimName);
    expect((claim?.spec as { accessModes: string[] }).accessModes).toContain('ReadWriteMany');
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = readFileSync('deploy/Dockerfile', 'utf8');
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

  it('runs the Node the project asks for, and takes Dawn for Node from the locked install instead of naming a version', () => {
    const major = /(\d+)/.exec(pkg.engines.node)![1];
    const froms = [...dockerfile.matchAll(/^FROM node:(\d+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThan(0);
    expect(new Set(froms)).toEqual(new Set([major]));
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toMatch(/COPY --from=build \S+\/node_modules\/webgpu /);
    expect(dockerfile).not.toContain(pkg.devDependencies.webgpu);
  });

  it('points the Vulkan loader at an ICD file for NVIDIA\'s EGL library, which it writes', () => {
    const icd = /VK_ICD_FILENAMES=(\S+)/.exec(dockerfile)![1];
    expect(dockerfile).toMatch(new RegExp(`libEGL_nvidia\\.so\\.0.*> ${icd.replace(/\./g, '\\.')}`));
    expect(dockerfile).toMatch(/NVIDIA_DRIVER_CAPABILITIES=\S*graphics/);
  });
});

describe('docs/distributed.md', () => {
  it('every quantlab command line in it uses only options its command names', () => {
    const doc = readFileSync('docs/distributed.md', 'utf8').replace(/\\\n\s*/g, ' ');
    const lines = [...doc.matchAll(/quantlab ([a-z]+)((?: +[^ `#\n&|)']+)*)/g)].filter(([, name]) => COMMANDS.some((c) => c.name === name));
    expect(lines.filter(([, name]) => name === 'sweep').length).toBeGreaterThan(2);
    expect(lines.filter(([, name]) => name === 'merge').length).toBeGreaterThan(1);
    for (const [line, name, rest] of lines) {
      const c = COMMANDS.find((x) => x.name === name)!;
      const argv = rest.trim().split(/ +/).filter(Boolean).map((a) => a.replace(/^"|"$/g, '').replace(/[,.;:]$/, ''));
      expect(new Args(argv, new Set(c.flags)).undocumented(c.usage), line).toEqual([]);
    }
  });
});
