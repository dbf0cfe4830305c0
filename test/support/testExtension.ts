// The test builds' fixed identity (test/support/browser.ts builds them; test servers allow it).
/**
 * The public key test builds carry as their manifest `key`, so Chromium gives the unpacked
 * build a fixed id that test servers allow (servers allow only Vigil's own extension ids).
 * Only the public half exists; nothing is signed with it.
 */
export const TEST_EXTENSION_KEY =
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApBDti43my1q4QHrbxC7BvIUCutakcvZL6yngZPTbFqeaIE8+3h2giNJgPQPMZS5ZSCNJUdZHjvkNWyJOy/F6GH9MBhKiqGLeFSHz1Pcf6DRAGTY3GSQoTUE1qMN2Zj2j5czn/e381/p3JVc0B6/CO3zL3SU14LjqIsHotWbCNWU1G14YeTgIBn7Bzn4un5KJL5OS73Bm8ierqDJMHVsEuLNn+/cbZ4fpA+G9dGH5A938KldfF4QH0lKzWPvdnnsSBWKftdf4gomNi3h4ZrsqE5T/9uYtvk7LPXj8saLNN31rqDqpK2c5N3qMCDDyu10HJ+9rxXL+Zmb4MoRnUFQroQIDAQAB';
/** The id Chromium derives from TEST_EXTENSION_KEY. */
export const TEST_EXTENSION_ID = 'dlkcdbndagmkpnmfbhlbeeldgcejmjcb';
