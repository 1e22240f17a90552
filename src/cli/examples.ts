/** The `Examples:` section of each command's --help (test/cli/commands.test.ts checks every command has one). */
export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  kit: [
    "kit init my-kit --image ghcr.io/org/agent-base:1.0.0",
    "kit push ghcr.io/org/my-kit:0.1.0 my-kit",
    "kit pull my-kit:0.1.0 --json",
    "kit help environment",
  ],
  validate: ["kit validate", "kit validate my-kit", "kit validate my-kit/kit.yaml --json"],
  init: ["kit init my-kit", "kit init . --name famiglia", "kit init my-kit --image ghcr.io/org/agent-base:1.0.0"],
  schema: ["kit schema > kit.schema.json"],
  pack: ["kit pack my-kit -o oci:build/my-kit", "kit pack my-kit -o oci:build/my-kit:stable --no-pin --json"],
  push: [
    "kit push ghcr.io/org/my-kit my-kit",
    "kit push ghcr.io/org/my-kit:1.0.0 my-kit -t stable --json",
    "kit push ghcr.io/org/my-kit:1.0.0 my-kit --attach",
    "kit push oci:build/my-kit:1.0.0 my-kit",
    "kit push ghcr.io/org/my-kit:1.0.0 my-kit --sign kit.key",
  ],
  sign: [
    "kit sign ghcr.io/org/my-kit:1.0.0 --key kit.key",
    "KIT_KEY_PASSWORD=… kit sign ghcr.io/org/my-kit@sha256:… --key cosign.key --format simplesigning",
    "kit sign my-kit@sha256:… --key kit.key",
    "kit sign oci:mirror/my-kit:1.0.0 --key kit.key --identity ghcr.io/org/my-kit",
  ],
  verify: [
    "kit verify ghcr.io/org/my-kit:1.0.0 --key kit.pub",
    "kit verify my-kit@sha256:… --key kit.pub --key backup.pub --json",
    "kit verify oci:mirror/my-kit:1.0.0 --key cosign.pub --identity ghcr.io/org/my-kit",
  ],
  key: ["kit key generate"],
  "key generate": ["kit key generate", "kit key generate -o release --json", 'printf %s "$PASS" | kit key generate -o ci --passphrase-stdin'],
  pull: ["kit pull ghcr.io/org/my-kit:1.0.0", "kit pull ghcr.io/org/my-kit:1.0.0 -o ./checkout", "kit pull my-kit@sha256:… --json"],
  inspect: ["kit inspect ghcr.io/org/my-kit:1.0.0", "kit inspect oci:build/my-kit:1.0.0", "kit inspect my-kit:1.0.0 --json"],
  show: ["kit show ghcr.io/org/my-kit:1.0.0", "kit show my-kit:1.0.0 --readme", "kit show oci:build/my-kit:1.0.0 > kit.yaml"],
  diff: [
    "kit diff ghcr.io/org/my-kit:1.0.0 ghcr.io/org/my-kit:1.1.0",
    "kit diff my-kit:1.0.0 ./my-kit",
    "kit diff ghcr.io/org/my-kit:1.0.0 ./my-kit --json",
    "kit diff my-kit:1.0.0 ./my-kit --exit-code",
  ],
  ls: ["kit ls", "kit ls --json"],
  rm: ["kit rm my-kit:1.0.0", "kit rm ghcr.io/org/my-kit"],
  gc: ["kit gc", "kit gc --json"],
  store: ["kit store verify", "kit store gc"],
  "store verify": ["kit store verify", "kit store verify --json", "kit store verify --layout oci:mirror/agent-base"],
  "store gc": ["kit store gc", "kit store gc --layout oci:mirror/agent-base --json"],
  copy: [
    "kit copy ghcr.io/org/my-kit:1.0.0 registry.internal/kits/my-kit",
    "kit copy ghcr.io/org/agent-base:1.0.0 oci:mirror/agent-base --dry-run",
    "kit copy -r ghcr.io/org/agent-base:1.0.0 registry.internal/org/agent-base",
  ],
  discover: ["kit discover ghcr.io/org/agent-base:1.0.0", "kit discover ghcr.io/org/agent-base:1.0.0 --all", "kit discover --local ghcr.io/org/agent-base@sha256:… --json"],
  save: [
    "kit save ghcr.io/org/my-kit:1.0.0 -o my-kit.tar",
    "kit save my-kit:1.0.0 other-kit@sha256:… -o kits.tar.gz --compress gzip",
  ],
  load: ["kit load my-kit.tar", "kit load my-kit.tar --to registry.internal:5000/airgap", "kit load backup.tar --repository ghcr.io/org/app --to registry.internal:5000"],
  bundle: ["kit bundle ls my-kit.tar"],
  "bundle ls": ["kit bundle ls my-kit.tar", "kit bundle ls kits.tar.gz --json"],
  config: ["kit config check", "kit config check /etc/aegis/kit.yaml"],
  "config check": ["kit config check", "kit config check ./kit-config.yaml --json", "KIT_CONFIG=/etc/aegis/kit.yaml kit config check"],
  "config export": [
    "kit config export --format containerd -o /etc/containerd/certs.d",
    "kit config export --format registries.conf -o /etc/containers/registries.conf.d/aegis-mirrors.conf",
    "kit config export ./kit-config.yaml --format registries.conf",
  ],
  mirror: [
    "kit mirror ghcr.io/org/my-kit:1.0.0 --to mirror.internal:5000/airgap",
    "kit mirror -f kits.yaml --to mirror.internal:5000/airgap --dry-run",
    "kit mirror my-kit:1.0.0 --to localhost:5000 --json",
  ],
  resolve: ["kit resolve ghcr.io/org/my-kit:1.0.0", "kit resolve oci:build/my-kit:1.0.0 --json"],
  tags: ["kit tags ghcr.io/org/my-kit", "kit tags oci:build/my-kit --json"],
  manifest: ["kit manifest ghcr.io/org/my-kit:1.0.0", "kit manifest ghcr.io/org/my-kit:1.0.0 | sha256sum"],
  login: ["kit login ghcr.io", 'echo "$TOKEN" | kit login ghcr.io -u me --password-stdin', "kit login localhost:5000 -u me --password-stdin < token.txt"],
  logout: ["kit logout ghcr.io"],
  version: ["kit version", "kit version --json"],
  completion: ["source <(kit completion bash)", "kit completion zsh > ~/.zfunc/_kit", "kit completion fish > ~/.config/fish/completions/kit.fish"],
  help: ["kit help", "kit help pull", "kit help environment"],
};

export function examplesHelp(name: string): string | undefined {
  const lines = EXAMPLES[name];
  return lines === undefined ? undefined : `\nExamples:\n${lines.map((l) => `  ${l}`).join("\n")}`;
}
