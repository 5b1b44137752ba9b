// An in-app link: a real <a href> (keyboard, middle-click, screen readers) routed without reload.
import type { ComponentChildren } from 'preact';
import { follow } from './router.js';

export function Link(props: { href: string; children: ComponentChildren; current?: boolean; class?: string; 'aria-label'?: string }) {
  return (
    <a href={props.href} onClick={follow} class={props.class} aria-current={props.current ? 'page' : undefined} aria-label={props['aria-label']}>
      {props.children}
    </a>
  );
}
