import { type DefaultTreeAdapterTypes, parse } from 'parse5';
import type { PageHtml } from './observatory/index.js';

type Node = DefaultTreeAdapterTypes.Node;
type Element = DefaultTreeAdapterTypes.Element;

/** One field of a form, as a browser would submit it. */
export interface FormField {
  name: string;
  value: string;
  /** The input type, lower-cased (`text` for textarea and select). */
  type: string;
}

/** A `<form>` of a page. */
export interface PageForm {
  /** The method attribute, upper-cased; GET when absent. */
  method: string;
  /** The action resolved against the page URL; the page URL when absent. */
  action: string;
  fields: FormField[];
}

/** Everything the checker reads from one HTML page. */
export interface ParsedPage extends PageHtml {
  forms: PageForm[];
}

/** Parses an HTML page with a standards-compliant parser (parse5) and collects meta tags, scripts and forms. */
export function parsePage(body: string, pageUrl: string): ParsedPage {
  const document = parse(body);
  const page: ParsedPage = { metaCsp: [], metaReferrer: null, scripts: [], forms: [] };

  for (const element of elements(document)) {
    switch (element.tagName) {
      case 'meta': {
        const content = attribute(element, 'content');
        if (content === null) break;
        const httpEquiv = attribute(element, 'http-equiv');
        if (httpEquiv !== null) {
          if (httpEquiv.trim().toLowerCase() === 'content-security-policy') page.metaCsp.push(content);
        } else if (attribute(element, 'name')?.trim().toLowerCase() === 'referrer') {
          page.metaReferrer = content;
        }
        break;
      }
      case 'script':
        page.scripts.push({ src: attribute(element, 'src'), integrity: attribute(element, 'integrity') });
        break;
      case 'form':
        page.forms.push(readForm(element, pageUrl));
        break;
    }
  }
  return page;
}

function readForm(form: Element, pageUrl: string): PageForm {
  const actionAttribute = attribute(form, 'action');
  let action = pageUrl;
  if (actionAttribute !== null && actionAttribute.trim() !== '') {
    try {
      action = new URL(actionAttribute.trim(), pageUrl).href;
    } catch {
      action = pageUrl;
    }
  }
  const fields: FormField[] = [];
  for (const element of elements(form)) {
    const name = attribute(element, 'name');
    if (name === null || name === '') continue;
    if (element.tagName === 'input') {
      fields.push({
        name,
        value: attribute(element, 'value') ?? '',
        type: (attribute(element, 'type') ?? 'text').toLowerCase(),
      });
    } else if (element.tagName === 'textarea' || element.tagName === 'select') {
      fields.push({ name, value: '', type: 'text' });
    }
  }
  return { method: (attribute(form, 'method') ?? 'get').trim().toUpperCase(), action, fields };
}

/** Yields every element under `root`, depth first, template contents included. */
function* elements(root: Node): Generator<Element> {
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as Node;
    if ('tagName' in node) yield node;
    const children: Node[] = [];
    if ('childNodes' in node) children.push(...node.childNodes);
    if ('content' in node && node.content) children.push(...node.content.childNodes);
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as Node);
  }
}

function attribute(element: Element, name: string): string | null {
  return element.attrs.find((attr) => attr.name === name)?.value ?? null;
}
