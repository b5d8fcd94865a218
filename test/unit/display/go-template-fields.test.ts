import { describe, expect, it } from 'vitest';
import { dockerFields } from '../../../src/display/index.js';
import { formatObjects } from '../../../src/display/list-format.js';
import { renderTemplate } from '../../../src/display/go-template.js';

// A service as the API returns it when the user set nothing optional.
const service = {
  ID: 'abc',
  Spec: {
    Name: 'web',
    TaskTemplate: { ContainerSpec: { Image: 'busybox' } },
    Mode: { Replicated: { Replicas: 1 } },
  },
};

describe('templates over docker types: an unset field prints as Go prints its zero value', () => {
  it.each([
    ['{{.Spec.TaskTemplate.ContainerSpec.StopSignal}}', ''],
    ['{{.Spec.TaskTemplate.ContainerSpec.StopGracePeriod}}', '0'],
    ['{{.Spec.TaskTemplate.ContainerSpec.ReadOnly}}', 'false'],
    ['{{.Spec.TaskTemplate.ContainerSpec.Env}}', '[]'],
    ['{{.Spec.Labels}}', 'map[]'],
    ['{{.Spec.Mode.Global}}', '<nil>'],
    ['{{json .Spec.TaskTemplate.ContainerSpec.Env}}', 'null'],
    ['{{json .Spec.TaskTemplate.ContainerSpec.Dir}}', '""'],
    ['{{len .Spec.TaskTemplate.ContainerSpec.Mounts}}', '0'],
    ['{{join .Spec.TaskTemplate.ContainerSpec.Args ","}}', ''],
    ['{{index .Spec.Labels "x"}}', '<no value>'],
    ['{{.Spec.UpdateConfig.Parallelism}}', '0'],
    ['{{.Spec.Name}} {{.Spec.Mode.Replicated.Replicas}}', 'web 1'],
  ])('%s → %j', (template, want) => {
    expect(renderTemplate(template, service, dockerFields.Service)).toBe(want);
  });

  it('still refuses a field the type does not have, set or not', () => {
    expect(() => renderTemplate('{{.Spec.Nope}}', service, dockerFields.Service)).toThrow(
      /no field "Nope"/,
    );
    expect(() =>
      renderTemplate('{{.Spec.Mode.Global.Nope}}', service, dockerFields.Service),
    ).toThrow(/no field "Nope"/);
  });

  it('inspect of several objects prints each, the one without the field included', () => {
    const other = { ...service, ID: 'def', Spec: { ...service.Spec, Labels: { a: '1' } } };
    expect(formatObjects([service, other], '{{.ID}} {{.Spec.Labels}}', dockerFields.Service)).toBe(
      'abc map[]\ndef map[a:1]\n',
    );
  });

  it('covers every object kind inspect renders', () => {
    expect(Object.keys(dockerFields).sort()).toEqual(
      [
        'Config',
        'Container',
        'Image',
        'Network',
        'Node',
        'Secret',
        'Service',
        'Task',
        'Volume',
      ].sort(),
    );
    expect(renderTemplate('{{.State.OOMKilled}}', { Id: 'x' }, dockerFields.Container)).toBe(
      'false',
    );
  });
});
