import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import nodemailer from 'nodemailer';

/** A plain-text message. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/** Sends mail through SMTP, or writes it to the outbox directory when no SMTP server is configured. */
export interface Mailer {
  send(mail: Mail): Promise<void>;
  close(): void;
}

/** Directory under DATA_DIR where mail is written when SMTP_URL is unset. */
export const OUTBOX_DIR_NAME = 'outbox';

/**
 * Creates the mailer. Without SMTP, each message becomes a file in DATA_DIR/outbox/ (mode 0600) and the
 * log gets one line naming the file. The log line never contains the body, because the body holds a
 * password-reset link that signs in whoever reads it, and logs are read by more people than mailboxes.
 */
export function createMailer(
  options: { smtpUrl: string | undefined; from: string; dataDir: string },
  log: FastifyBaseLogger,
): Mailer {
  if (options.smtpUrl !== undefined) {
    const transport = nodemailer.createTransport(options.smtpUrl);
    return {
      async send(mail) {
        const info = await transport.sendMail({
          from: options.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
        });
        log.info(
          { event: 'mail.sent', messageId: info.messageId, subject: mail.subject },
          'mail sent through SMTP',
        );
      },
      close: () => transport.close(),
    };
  }

  const outbox = join(options.dataDir, OUTBOX_DIR_NAME);
  return {
    async send(mail) {
      await mkdir(outbox, { recursive: true, mode: 0o700 });
      const file = join(
        outbox,
        `${new Date().toISOString().replaceAll(':', '-')}-${randomBytes(4).toString('hex')}.eml`,
      );
      const message = `From: ${options.from}\nTo: ${mail.to}\nSubject: ${mail.subject}\nDate: ${new Date().toUTCString()}\n\n${mail.text}\n`;
      // Written under a temporary name and renamed, so a reader of the outbox never sees half a message.
      await writeFile(`${file}.tmp`, message, { mode: 0o600, flag: 'wx' });
      await rename(`${file}.tmp`, file);
      log.info(
        { event: 'mail.outbox', file, subject: mail.subject },
        'mail written to the outbox (SMTP_URL is unset)',
      );
    },
    close: () => {},
  };
}
