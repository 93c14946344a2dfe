import { redactUrl } from '../../servers/redis.ts'

/** Anything the run writes or prints: a Redis URL's password (REDIS_URL may carry one) becomes `***`. */
export function redactUrls(text: string): string {
  return text.replace(/rediss?:\/\/[^\s'"]+/g, (url) => redactUrl(url))
}
