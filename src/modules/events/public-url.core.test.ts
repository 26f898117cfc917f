import { describe, expect, it } from 'vitest';
import { normalizePublicUrl, publicUrlWarning } from './public-url.core.ts';

describe('public base URL', () => {
  it('warns for addresses a store cannot reach', () => {
    for (const u of [
      'http://127.0.0.1:8177',
      'http://localhost:8000',
      'https://shop.local',
      'https://10.1.2.3',
      'https://172.20.0.5',
      'https://192.168.1.10:8443',
      'https://169.254.1.1',
      'https://[::1]:8000',
      'https://[fd00::1]',
      'https://myserver',
    ])
      expect(publicUrlWarning(u), u).toContain('cannot deliver');
  });
  it('a public https address has no warning; public http is warned about https', () => {
    expect(publicUrlWarning('https://loupe.example.com')).toBeNull();
    expect(publicUrlWarning('https://172.32.0.1')).toBeNull();
    expect(publicUrlWarning('http://loupe.example.com')).toContain('https');
    expect(publicUrlWarning('nonsense')).toContain('not a URL');
  });
  it('normalizes what Settings accepts and refuses the rest', () => {
    expect(normalizePublicUrl(' https://loupe.example.com/ ')).toBe('https://loupe.example.com');
    expect(normalizePublicUrl('https://loupe.example.com/base//')).toBe('https://loupe.example.com/base');
    for (const bad of [
      'ftp://x.example',
      'https://u:p@x.example',
      'https://x.example/?a=1',
      'https://x.example/#f',
      'x',
      'javascript:alert(1)',
    ])
      expect(normalizePublicUrl(bad), bad).toBeNull();
  });
});
