-- Data residency for platform staff (CON-ARCH-007): a staff member may be bound to one region;
-- their cross-tenant views (the platform audit log) then cover only that region's tenants.
alter table users add column platform_region text check (platform_region in ('US', 'EU', 'UK', 'JP'));
alter table users add constraint users_platform_region_staff_only check (tenant_id is null or platform_region is null);
