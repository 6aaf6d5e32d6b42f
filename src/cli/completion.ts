/**
 * Shell completions (bash, zsh, fish) and the man page, all generated from the one command tree
 * (commander's), so a command or option added to the CLI shows up everywhere without a second
 * list to keep. Pure: a tree in, text out.
 */
import type { Command } from 'commander';

export interface OptionNode {
  /** `--port`, or `-V` when there is no long form. */
  long: string;
  short: string | null;
  takesValue: boolean;
  description: string;
}

export interface CommandNode {
  /** The words that name it: [] for the program, ['queue', 'add'] for `codex-sm queue add`. */
  path: string[];
  description: string;
  args: string[];
  options: OptionNode[];
  commands: CommandNode[];
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** commander's tree as plain data (help commands and hidden options left out). */
export function commandTree(cmd: Command, path: string[] = []): CommandNode {
  return {
    path,
    description: cmd.description(),
    args: cmd.registeredArguments.map((a) => `${a.name()}${a.variadic ? '...' : ''}`),
    options: cmd.options
      .filter((o) => !o.hidden)
      .map((o) => ({
        long: o.long ?? o.short ?? o.flags,
        short: o.long && o.short ? o.short : null,
        takesValue: o.required || o.optional,
        description: o.description,
      })),
    commands: cmd.commands
      .filter((c) => c.name() !== 'help')
      .map((c) => commandTree(c, [...path, c.name()])),
  };
}

/** Every node, the program first. */
export function allCommands(root: CommandNode): CommandNode[] {
  return [root, ...root.commands.flatMap(allCommands)];
}

const words = (opts: OptionNode[]) =>
  opts.flatMap((o) => (o.short ? [o.long, o.short] : [o.long])).join(' ');

export function bashCompletion(root: CommandNode): string {
  const cases = allCommands(root).map((c) => {
    const subs = c.commands.map((s) => s.path[s.path.length - 1]).join(' ');
    const valued = c.options.filter((o) => o.takesValue).map((o) => o.long);
    return `    '${c.path.join(' ')}')
      subs='${subs}'; opts='${words(c.options)}'; valued='${valued.join(' ')}' ;;`;
  });
  return `# bash completion for codex-sm (generated: codex-sm completion bash)
_codex_sm() {
  local cur prev path="" i w subs opts valued
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  # The command path so far: the words that are subcommands of the path before them.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    _codex_sm_node "$path"
    [[ " $subs " == *" $w "* ]] && path="\${path:+$path }$w"
  done
  _codex_sm_node "$path"
  if [[ " $valued " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  fi
}
_codex_sm_node() {
  case "$1" in
${cases.join('\n')}
    *) subs=''; opts=''; valued='' ;;
  esac
}
complete -F _codex_sm codex-sm
`;
}

const zshQuote = (s: string) => s.replace(/'/g, "'\\''").replace(/[[\]:]/g, '\\$&');

export function zshCompletion(root: CommandNode): string {
  const fn = (c: CommandNode) =>
    `_codex_sm${c.path.map((p) => '_' + p.replace(/-/g, '_')).join('')}`;
  const body = allCommands(root).map((c) => {
    const opts = c.options.map(
      (o) => `    '${o.long}[${zshQuote(o.description)}]${o.takesValue ? ':value:_files' : ''}'`,
    );
    if (!c.commands.length)
      return `${fn(c)}() {
  _arguments -s \\
${[...opts, "    '*::arg:_files'"].join(' \\\n')}
}`;
    const subs = c.commands.map(
      (s) => `      '${s.path[s.path.length - 1]}:${zshQuote(s.description)}'`,
    );
    const cases = c.commands.map((s) => `      ${s.path[s.path.length - 1]}) ${fn(s)} ;;`);
    return `${fn(c)}() {
  local line state
  _arguments -C \\
${[...opts, "    '1: :->cmd'", "    '*::arg:->args'"].join(' \\\n')}
  case $state in
    cmd)
      local -a subs
      subs=(
${subs.join('\n')}
      )
      _describe 'command' subs ;;
    args)
      case $line[1] in
${cases.join('\n')}
      esac ;;
  esac
}`;
  });
  return `#compdef codex-sm
# zsh completion for codex-sm (generated: codex-sm completion zsh)
${body.join('\n\n')}

_codex_sm "$@"
`;
}

const fishQuote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export function fishCompletion(root: CommandNode): string {
  const lines = [
    '# fish completion for codex-sm (generated: codex-sm completion fish)',
    'complete -c codex-sm -f',
  ];
  for (const c of allCommands(root)) {
    // "after exactly these words": each word of the path seen, and no subcommand of this node yet.
    const seen = c.path.map((p) => `__fish_seen_subcommand_from ${p}`);
    const subs = c.commands.map((s) => s.path[s.path.length - 1]);
    const none = subs.length ? [`not __fish_seen_subcommand_from ${subs.join(' ')}`] : [];
    const cond = c.path.length
      ? [...seen, ...none].join('; and ')
      : subs.length
        ? `not __fish_seen_subcommand_from ${subs.join(' ')}`
        : '';
    const at = cond ? ` -n ${fishQuote(cond)}` : '';
    for (const s of c.commands)
      lines.push(
        `complete -c codex-sm${at} -a ${s.path[s.path.length - 1]} -d ${fishQuote(s.description)}`,
      );
    const here = c.path.length ? ` -n ${fishQuote(seen.join('; and '))}` : '';
    for (const o of c.options) {
      const name = o.long.startsWith('--') ? ` -l ${o.long.slice(2)}` : ` -s ${o.long.slice(1)}`;
      const short = o.short ? ` -s ${o.short.slice(1)}` : '';
      lines.push(
        `complete -c codex-sm${here}${name}${short}${o.takesValue ? ' -r -F' : ''} -d ${fishQuote(o.description)}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

/** roff-escape: backslashes, leading dots and quotes, and hyphens in option names. */
const roff = (s: string) => s.replace(/\\/g, '\\e').replace(/^([.'])/gm, '\\&$1');
const dash = (s: string) => s.replace(/-/g, '\\-');

/** codex-sm(1): every command with its arguments, description and options. */
export function manPage(root: CommandNode, version: string, date: string): string {
  const out = [
    `.TH CODEX\\-SM 1 "${date}" "codex-sm ${version}" "User Commands"`,
    '.SH NAME',
    `codex\\-sm \\- ${roff(root.description)}`,
    '.SH SYNOPSIS',
    '.B codex\\-sm',
    '[\\fB\\-\\-config\\fR \\fIfile\\fR] \\fIcommand\\fR [\\fIoptions\\fR]',
    '.SH DESCRIPTION',
    roff(
      'codex-sm runs the Codex app-server as a systemd user service (or a launchd LaunchAgent) and puts an authenticated HTTP and WebSocket front on it. Every command prints exactly one JSON object with --json.',
    ),
    '.SH GLOBAL OPTIONS',
  ];
  const options = (opts: OptionNode[]) => {
    for (const o of opts) {
      out.push(
        '.TP',
        `.B ${dash(o.short ? `${o.short}, ${o.long}` : o.long)}${o.takesValue ? ' \\fIvalue\\fR' : ''}`,
      );
      out.push(roff(o.description || ' '));
    }
  };
  options(root.options);
  out.push('.SH COMMANDS');
  for (const c of allCommands(root).slice(1)) {
    out.push(
      '.SS',
      `.B ${dash(`codex-sm ${c.path.join(' ')}`)}${c.args.length ? ` \\fI${c.args.join(' ')}\\fR` : ''}`,
      '.PP',
      roff(c.description || ' '),
    );
    if (c.options.length) {
      out.push('.RS');
      options(c.options);
      out.push('.RE');
    }
  }
  out.push(
    '.SH FILES',
    '.TP',
    '.I ~/.config/codex\\-sm/config.json',
    'the config file',
    '.TP',
    '.I ~/.config/codex\\-sm/token',
    "the owner's bearer token (0600)",
    '.SH SEE ALSO',
    '.BR systemctl (1),',
    '.BR journalctl (1),',
    '.BR codex (1)',
  );
  return out.join('\n') + '\n';
}
