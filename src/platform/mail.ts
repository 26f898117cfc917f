import nodemailer from 'nodemailer';

/** One outbound message: plain text always (every client reads it), HTML optional. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/**
 * Outbound e-mail through SMTP (nodemailer). `configured` is false when LOUPE_SMTP_URL is unset: callers then
 * hand the link to the person who asked (an administrator) instead of sending it.
 */
export interface Mailer {
  readonly configured: boolean;
  /** Sends one message; resolves when the SMTP server accepted it, rejects when it refused or was unreachable. */
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/** A mailer for `smtpUrl` (smtp:// or smtps://, credentials in the URL), or an unconfigured one when undefined. */
export function createMailer(smtpUrl: string | undefined, from: string): Mailer {
  if (!smtpUrl) {
    return {
      configured: false,
      async send() {
        throw new Error('e-mail is not configured (LOUPE_SMTP_URL)');
      },
      close() {},
    };
  }
  // Short timeouts: a request that sends mail waits for the server's answer; a dead server must not hold it long.
  const transport = nodemailer.createTransport(smtpUrl, {
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  } as Parameters<typeof nodemailer.createTransport>[1]);
  return {
    configured: true,
    async send(m: MailMessage) {
      await transport.sendMail({ from, to: m.to, subject: m.subject, text: m.text, ...(m.html ? { html: m.html } : {}) });
    },
    close() {
      transport.close();
    },
  };
}
