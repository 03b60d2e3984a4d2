#!/usr/bin/env node
// `npm run hash-token`: turns a token into the `sha256:<hex>` form the config holds, so the token
// itself is never written into a config file. The token is read from standard input (not the command
// line, where `ps` and shell history would keep it); `--generate` makes a new random one.
import { createInterface } from 'node:readline';
import { generateToken, hashToken, MIN_TOKEN_LENGTH } from './token-hash.js';

async function readToken(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('token (then Enter): ');
  const rl = createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    rl.close();
    return line.trim();
  }
  return '';
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(
      'usage: npm run hash-token                 reads a token on standard input, prints its hash\n' +
        '       npm run hash-token -- --generate   makes a random token, prints it and its hash\n',
    );
    return;
  }
  if (args.includes('--generate')) {
    const token = generateToken();
    process.stdout.write(`token: ${token}\nhash:  ${hashToken(token)}\n`);
    process.stderr.write('Give the token to the client (Grafana, the Collector); put only the hash in the config.\n');
    return;
  }
  const token = await readToken();
  if (token.length < MIN_TOKEN_LENGTH) {
    process.stderr.write(`refused: a token needs at least ${MIN_TOKEN_LENGTH} characters (use --generate for a random one)\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${hashToken(token)}\n`);
}

await main();
