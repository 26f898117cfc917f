import { MultiSelect, Select } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client.ts';
import type { CohortList } from '../api/types.ts';

/** The tenant's saved cohorts (Analytics > Cohorts), as choices: experiments' and sponsored campaigns' audiences. */
function useCohortChoices() {
  const q = useQuery({ queryKey: ['cohorts'], queryFn: () => get<CohortList>('/api/v1/analytics/cohorts') });
  return { data: (q.data?.data ?? []).map((c) => ({ value: c.id, label: c.name })), loading: q.isLoading };
}

const DESCRIPTION = 'Only people in the saved cohort now (Analytics > Cohorts) are included.';

/** One saved cohort, or none (everyone). */
export function CohortSelect(props: { label: string; value: string | null; onChange: (id: string | null) => void }) {
  const c = useCohortChoices();
  return (
    <Select
      label={props.label}
      description={DESCRIPTION}
      placeholder={c.loading ? 'Loading cohorts…' : c.data.length ? 'Everyone' : 'No saved cohorts yet'}
      data={c.data}
      value={props.value}
      onChange={props.onChange}
      clearable
      searchable
    />
  );
}

/** Several saved cohorts (a person in any of them qualifies), or none (everyone). */
export function CohortMultiSelect(props: { label: string; value: string[]; onChange: (ids: string[]) => void }) {
  const c = useCohortChoices();
  return (
    <MultiSelect
      label={props.label}
      description="People in any of these saved cohorts now (Analytics > Cohorts); empty: everyone."
      placeholder={c.loading ? 'Loading cohorts…' : c.data.length ? 'Everyone' : 'No saved cohorts yet'}
      data={c.data}
      value={props.value}
      onChange={props.onChange}
      maxValues={20}
      clearable
      searchable
    />
  );
}
