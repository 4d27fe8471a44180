import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Client, outboxCount, type RunningApp, registeredClient, startApp } from './helpers.js';

/**
 * Starts a minimal SMTP server on 127.0.0.1 that accepts every message and keeps its DATA section. It speaks
 * just enough of RFC 5321 (no TLS, no AUTH) for nodemailer to deliver one message per connection.
 */
function startSmtpServer(messages: string[]): Promise<Server> {
  const server = createServer((socket: Socket) => {
    let buffer = '';
    let inData = false;
    let data = '';
    socket.write('220 localhost test SMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let end = buffer.indexOf('\r\n');
      while (end !== -1) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            messages.push(data);
            data = '';
            socket.write('250 OK queued\r\n');
          } else {
            data += `${line.startsWith('..') ? line.slice(1) : line}\n`;
          }
        } else {
          const verb = line.slice(0, 4).toUpperCase();
          if (verb === 'EHLO' || verb === 'HELO') socket.write('250 localhost\r\n');
          else if (verb === 'DATA') {
            inData = true;
            socket.write('354 End data with <CR><LF>.<CR><LF>\r\n');
          } else if (verb === 'QUIT') socket.end('221 Bye\r\n');
          else socket.write('250 OK\r\n');
        }
        end = buffer.indexOf('\r\n');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('password-reset mail through SMTP_URL', () => {
  const messages: string[] = [];
  let smtp: Server;
  let running: RunningApp;

  before(async () => {
    smtp = await startSmtpServer(messages);
    const address = smtp.address();
    assert.ok(typeof address === 'object' && address !== null);
    running = await startApp({
      SMTP_URL: `smtp://127.0.0.1:${address.port}`,
      MAIL_FROM: 'notes@example.com',
    });
  });

  after(async () => {
    await running?.close();
    await new Promise((resolve) => smtp.close(resolve));
  });

  test('reset link is sent by SMTP, not the outbox', async () => {
    await registeredClient(running.origin, 'smtp@example.com', 'correct horse battery');
    const response = await new Client(running.origin).submit('/password-reset', '/password-reset', {
      email: 'smtp@example.com',
    });
    assert.equal(response.status, 200);

    for (let attempt = 0; attempt < 100 && messages.length === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(messages.length, 1);
    // nodemailer sends the text quoted-printable: undo its soft line breaks and =XX escapes.
    const message = (messages[0] ?? '')
      .replaceAll('=\n', '')
      .replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    assert.match(message, /^To: smtp@example\.com$/m);
    assert.match(message, /^From: notes@example\.com$/m);
    assert.match(message, /http:\/\/127\.0\.0\.1:\d+\/password-reset\/[A-Za-z0-9_-]{43}/);
    assert.equal(outboxCount(running.dataDir), 0);
    assert.ok(running.logs.some((line) => line.event === 'mail.sent'));
  });
});
